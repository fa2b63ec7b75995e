// Scenario a: concurrent chunked uploads from several users, every asset checked byte for byte; the
// server's RSS and descriptors at the idle baseline, at peak and after each round must settle back.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Job, MiB, type Sample, type UploadsResult } from './jobs.js';
import {
  descriptorKinds,
  drained,
  type HeapFigures,
  heapOf,
  heapText,
  kindsText,
  measure,
  type ProcessFigures,
  releasedSince,
  samplePeaks,
  steady,
} from './measure.js';
import { type Plan, tokenFor } from './plan.js';
import { runWorkers, type Server } from './processes.js';
import { mib, type Report, rowsOf } from './report.js';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const block of createReadStream(file)) hash.update(block as Buffer);
  return hash.digest('hex');
}
export async function scenarioUploads(plan: Plan, server: Server, secret: string, dataDir: string, report: Report) {
  const owners = Array.from({ length: plan.users }, (_, i) => `load-user-${i}-${randomBytes(3).toString('hex')}`);
  const jobFor = (owner: string, count: number, size: number, seed: string): Job => ({
    kind: 'uploads',
    baseUrl: server.url,
    tusUrl: server.tusUrl,
    token: tokenFor(secret, owner),
    owner,
    count,
    size,
    chunkSize: plan.clientChunk,
    seed,
  });
  // warm-up: the same concurrency with small files, so pools, caches and compiled code exist before the baseline
  await runWorkers<UploadsResult>(owners.map((o) => jobFor(o, plan.uploadsPerUser, 256 * 1024, `warm-${o}`)));
  // the baseline is the idle server: once it has given back what the warm-up grew (its idle
  // release, 10 and 20 s after the last write) and its database pools have closed their idle
  // connections (after 30 s; 5 s in the short form; each /metrics scrape uses one)
  await releasedSince(server.url, 0, 60_000);
  await drained(server.pid, 75_000);
  const baseline = await steady(server.pid);
  const baselineKinds = await descriptorKinds(server.pid);
  const baselineHeap = await heapOf(server.url);
  // what must come back after every round: descriptors to the idle baseline, the V8 heap and the
  // memory outside it (Buffers) near it, and the RSS near it too (the server trims glibc's heap
  // once idle; jemalloc, with --server-env LD_PRELOAD=..., returns pages on its own)
  const allocator = (await readFile(`/proc/${server.pid}/maps`, 'utf8')).includes('libjemalloc')
    ? 'jemalloc'
    : 'system (glibc)';
  const fdTolerance = 5;
  // the server releases its kept blocks and runs a full collection once idle: both come back
  const heapTolerance = 16 * MiB;
  const externalTolerance = 16 * MiB;
  const rssTolerance = 32 * MiB;

  const rounds: {
    peak: ProcessFigures;
    after: ProcessFigures;
    heap: HeapFigures;
    settledIn: number;
    seconds: number;
    mibps: number;
  }[] = [];
  const samples: Sample[] = [];
  let uploadCount = 0;
  let differ = 0;
  let afterKinds: Record<string, number> = {};
  for (let round = 1; round <= plan.rounds; round++) {
    const peaks = samplePeaks(server.pid);
    const results = await runWorkers<UploadsResult>(
      owners.map((o) => jobFor(o, plan.uploadsPerUser, plan.uploadSize, `load-${round}-${o}`)),
    );
    const peak = await peaks.stop();
    const started = Math.min(...results.map((r) => r.started));
    const finished = Math.max(...results.map((r) => r.finished));
    const uploads = results.flatMap((r, w) => r.uploads.map((u) => ({ ...u, owner: owners[w] ?? '' })));
    const bytes = uploads.reduce((sum, u) => sum + u.size, 0);

    // settle: poll until the server has given its memory back once more (its idle release, 10 and
    // 20 s after the last write) and the descriptors and the RSS are back near the baseline, 90 s
    // at most
    const settleStarted = Date.now();
    const releasesBefore = (await heapOf(server.url)).releases;
    let after = await measure(server.pid);
    let released = false;
    while (Date.now() - settleStarted < 90_000) {
      after = await measure(server.pid);
      // asked only until it has happened: each scrape uses a database connection and keeps the
      // pool from shrinking
      released ||= (await heapOf(server.url)).releases > releasesBefore;
      if (released && after.fds <= baseline.fds + fdTolerance && after.rss <= baseline.rss + rssTolerance) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const settledIn = Date.now() - settleStarted;
    afterKinds = await descriptorKinds(server.pid);
    const seconds = (finished - started) / 1000;
    rounds.push({ peak, after, heap: await heapOf(server.url), settledIn, seconds, mibps: bytes / MiB / seconds });

    // every asset equals its source: the file on disk, and the sha256 and size the server recorded
    for (const u of uploads) {
      uploadCount++;
      if (u.error || !u.assetId) {
        differ++;
        report.failures.push(`round ${round}: upload ${u.owner}/${u.index} failed: ${u.error ?? 'no asset id'}`);
        continue;
      }
      const asset = await fetch(`${server.url}/storage/assets/${u.assetId}`, {
        headers: { Authorization: `Bearer ${tokenFor(secret, u.owner)}` },
      }).then((r) => r.json() as Promise<{ sha256: string; size: number }>);
      const ownerDir = path.join(dataDir, 'assets', u.owner);
      const [name] = await readdir(path.join(ownerDir, u.assetId));
      const onDisk = await sha256File(path.join(ownerDir, u.assetId, name ?? ''));
      if (onDisk !== u.sha256 || asset.sha256 !== u.sha256 || asset.size !== u.size) {
        differ++;
        report.failures.push(`round ${round}: asset ${u.assetId} of ${u.owner}/${u.index} differs from its source`);
      }
    }
    samples.push(...results.flatMap((r) => r.samples));
    if (after.fds > baseline.fds + fdTolerance) {
      report.failures.push(`round ${round}: open descriptors ${after.fds} > baseline ${baseline.fds} + ${fdTolerance}`);
    }
    const heap = rounds.at(-1)?.heap;
    if (heap && heap.used > baselineHeap.used + heapTolerance) {
      report.failures.push(
        `round ${round}: V8 heap ${mib(heap.used)} MiB used > baseline ${mib(baselineHeap.used)} + ${mib(heapTolerance)}`,
      );
    }
    if (heap && heap.external > baselineHeap.external + externalTolerance) {
      report.failures.push(
        `round ${round}: external memory ${mib(heap.external)} MiB > baseline ${mib(baselineHeap.external)} + ${mib(externalTolerance)}`,
      );
    }
    if (after.rss > baseline.rss + rssTolerance) {
      report.failures.push(
        `round ${round}: RSS ${mib(after.rss)} MiB > the idle baseline ${mib(baseline.rss)} + ${mib(rssTolerance)}`,
      );
    }
  }
  const errors = samples.filter((s) => s.status >= 500).length;
  if (errors > 0) report.failures.push(`${errors} responses 5xx during the uploads`);

  const per = plan.users * plan.uploadsPerUser;
  const label = `a) ${per} x ${mib(plan.uploadSize)} MiB`;
  const list = (f: (r: (typeof rounds)[number]) => string) => rounds.map(f).join(' / ');
  report.figures.push(
    [`${label}: users, concurrent uploads, rounds`, `${plan.users}, ${per}, ${rounds.length}`],
    [`${label}: time per round`, `${list((r) => r.seconds.toFixed(1))} s`],
    [`${label}: aggregate throughput per round`, `${list((r) => r.mibps.toFixed(1))} MiB/s`],
    [`${label}: assets differing from their source`, `${differ} of ${uploadCount}`],
    [`${label}: 5xx responses`, String(errors)],
    [`${label}: server memory allocator`, allocator],
    [`${label}: server RSS idle baseline`, `${mib(baseline.rss)} MiB`],
    [`${label}: server RSS peak per round`, `${list((r) => mib(r.peak.rss))} MiB`],
    [`${label}: server RSS after each round`, `${list((r) => mib(r.after.rss))} MiB`],
    [`${label}: server memory, idle baseline`, heapText(baselineHeap)],
    [`${label}: server memory, after each round`, list((r) => heapText(r.heap))],
    [
      `${label}: server open fds baseline / peak / after each round`,
      `${baseline.fds} / ${list((r) => String(r.peak.fds))} / ${list((r) => String(r.after.fds))}`,
    ],
    [`${label}: server fds by kind, baseline`, kindsText(baselineKinds)],
    [`${label}: server fds by kind, after`, kindsText(afterKinds)],
    [`${label}: settled within (per round)`, `${list((r) => (r.settledIn / 1000).toFixed(1))} s`],
  );
  report.rows.push(...rowsOf('a', samples));
}
