// `npm run test:load` (`-- --short` for the quick form CI runs): the real server as a child process
// on PostgreSQL (a fresh database, dropped at the end, unless DATABASE_URL is given), load from
// worker processes, and the server process measured alone through /proc. Three scenarios:
//   a) 100 concurrent chunked uploads from 10 users, every asset byte-identical; time, MiB/s,
//      p50/p99 per request type, server RSS and open file descriptors before, at peak and after
//      (both must settle back to the warmed-up baseline, polled with a deadline);
//   b) 1000 sessions for one user: listing, status and HEAD p50/p99 (p99 < 50 ms, one at a time);
//   c) a cleanup sweep of 10,000 stale sessions with their data files: time, rows per second, and
//      the p99 of a live upload's PATCHes before and during the sweep.
// Prints a table and, after a full run, writes the figures into docs/reliability.md.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import jwt from 'jsonwebtoken';
import { type Database, openDatabase } from '../../db/client.js';
import { uploadSessions } from '../../db/schema.js';
import { runJsonChild } from '../../scripts/lib/json-child.js';
import {
  type CreateResult,
  type Job,
  type JobResult,
  MiB,
  type PatcherResult,
  type ProbeResult,
  quantile,
  type Sample,
  type UploadsResult,
} from './jobs.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REPORT = path.join(ROOT, 'docs/reliability.md');

interface Plan {
  name: 'full' | 'short';
  /** Rounds of scenario a: after each, RSS and descriptors must come back to the idle baseline. */
  rounds: number;
  users: number;
  uploadsPerUser: number;
  uploadSize: number;
  clientChunk: number;
  sessions: number;
  probeRequests: number;
  stale: number;
  staleFileSize: number;
}

const FULL: Plan = {
  name: 'full',
  rounds: 3,
  users: 10,
  uploadsPerUser: 10,
  uploadSize: 32 * MiB,
  clientChunk: 8 * MiB,
  sessions: 1000,
  probeRequests: 1500,
  stale: 10_000,
  staleFileSize: 16 * 1024,
};

const SHORT: Plan = {
  ...FULL,
  name: 'short',
  // one round: the RSS and descriptors must come back after it (there is no round-to-round rule)
  rounds: 1,
  uploadSize: 8 * MiB,
  clientChunk: 4 * MiB,
  probeRequests: 900,
  stale: 2000,
};

// ---- child processes ----

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

interface Server {
  child: ChildProcess;
  pid: number;
  url: string;
  tusUrl: string;
  /** JSON log lines with this `msg`, as they arrive. */
  logs(msg: string): Record<string, unknown>[];
  /** Log lines at level error (50) or above. */
  errors(): Record<string, unknown>[];
  stop(): Promise<void>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const child = track(
    // as `npm start` runs it: the compiled bundle, built at the start of the run
    spawn(process.execPath, [path.join(ROOT, 'dist/main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const seen: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s: ${stderr.join('')}`)), 60_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      seen.push(entry);
      if (entry.msg === 'upload server listening' && typeof entry.url === 'string') {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr.join('')}`));
    });
  });
  return {
    child,
    pid: child.pid ?? 0,
    url,
    tusUrl: `${url}/files`,
    logs: (msg) => seen.filter((e) => e.msg === msg),
    errors: () => seen.filter((e) => Number(e.level) >= 50),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Worker<R extends JobResult> {
  ready: Promise<void>;
  go(): void;
  stop(): void;
  result: Promise<R>;
}

function startWorker<R extends JobResult>(job: Job): Worker<R> {
  const { child, ready, result } = runJsonChild<R>(ROOT, path.join(ROOT, 'test/load/worker.ts'), job);
  track(child);
  return {
    ready,
    go: () => child.stdin?.write('go\n'),
    stop: () => child.stdin?.write('stop\n'),
    result,
  };
}

/** Starts the workers, waits until all are ready, starts them together, and collects the results. */
async function runWorkers<R extends JobResult>(jobs: Job[]): Promise<R[]> {
  const workers = jobs.map((job) => startWorker<R>(job));
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) w.go();
  return Promise.all(workers.map((w) => w.result));
}

// ---- measuring the server process ----

interface ProcessFigures {
  rss: number;
  fds: number;
}

async function measure(pid: number): Promise<ProcessFigures> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) * 1024;
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { rss, fds };
}

/** Open descriptors by kind: files, pipes, TCP sockets to PostgreSQL (port 5432) and other sockets. */
async function descriptorKinds(pid: number): Promise<Record<string, number>> {
  const remotePorts = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const remote = cols[2]?.split(':')[1];
      const inode = cols[9];
      if (remote && inode) remotePorts.set(inode, Number.parseInt(remote, 16));
    }
  }
  const kinds: Record<string, number> = {};
  const dir = `/proc/${pid}/fd`;
  for (const fd of await readdir(dir)) {
    const target = await readlink(path.join(dir, fd)).catch(() => 'gone');
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    const kind = socket
      ? remotePorts.get(socket[1] ?? '') === 5432
        ? 'postgres'
        : 'other sockets'
      : target.startsWith('pipe:')
        ? 'pipes'
        : target.startsWith('anon_inode:')
          ? 'anon'
          : target.startsWith('/')
            ? 'files'
            : 'other';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

const kindsText = (k: Record<string, number>) =>
  Object.entries(k)
    .sort()
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');

/** Peak RSS and descriptors, sampled every 100 ms until stopped. */
function samplePeaks(pid: number): { stop(): Promise<ProcessFigures> } {
  const peak: ProcessFigures = { rss: 0, fds: 0 };
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = await measure(pid);
      peak.rss = Math.max(peak.rss, now.rss);
      peak.fds = Math.max(peak.fds, now.fds);
    } catch {
      // the process is gone: the caller notices
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void take(), 100);
  return {
    async stop() {
      clearInterval(timer);
      await take();
      return peak;
    },
  };
}

/** V8 heap used and total, and memory outside the heap (Buffers), from the server's own /metrics. */
interface HeapFigures {
  /** Idle releases so far (the server's upload_idle_memory_releases_total). */
  releases: number;
  used: number;
  total: number;
  external: number;
}

async function heapOf(url: string): Promise<HeapFigures> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    releases: value('upload_idle_memory_releases_total'),
    used: value('nodejs_heap_size_used_bytes'),
    total: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
  };
}

const heapText = (h: HeapFigures) => `heap ${mib(h.used)} used of ${mib(h.total)}, external ${mib(h.external)} MiB`;

/** Polls until the process holds at most 4 connections to PostgreSQL (or `timeoutMs` passes). */
async function drained(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (((await descriptorKinds(pid)).postgres ?? 0) > 4) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Polls until three samples 500 ms apart agree within a few descriptors and 2 MiB (or 20 s pass). */
async function steady(pid: number): Promise<ProcessFigures> {
  const recent: ProcessFigures[] = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    recent.push(await measure(pid));
    if (recent.length > 3) recent.shift();
    const stable =
      recent.length === 3 &&
      Math.max(...recent.map((r) => r.fds)) - Math.min(...recent.map((r) => r.fds)) <= 2 &&
      Math.max(...recent.map((r) => r.rss)) - Math.min(...recent.map((r) => r.rss)) <= 2 * MiB;
    if (stable || Date.now() > deadline) return recent.at(-1) as ProcessFigures;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// ---- helpers ----

function tokenFor(secret: string, sub: string): string {
  return jwt.sign({ sub }, secret, { algorithm: 'HS256', expiresIn: '6h' });
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const block of createReadStream(file)) hash.update(block as Buffer);
  return hash.digest('hex');
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const mib = (bytes: number) => (bytes / MiB).toFixed(1);

interface Row {
  scenario: string;
  type: string;
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function rowsOf(scenario: string, samples: readonly Sample[]): Row[] {
  const types = [...new Set(samples.map((s) => s.type))].sort();
  return types.map((type) => {
    const values = samples.filter((s) => s.type === type).map((s) => s.ms);
    return {
      scenario,
      type,
      n: values.length,
      p50: quantile(values, 0.5),
      p99: quantile(values, 0.99),
      max: Math.max(...values),
    };
  });
}

interface Report {
  plan: Plan;
  database: string;
  when: string;
  machine: string;
  failures: string[];
  figures: [string, string][];
  rows: Row[];
}

function table(report: Report): string {
  const lines = ['| figure | value |', '| --- | --- |', ...report.figures.map(([k, v]) => `| ${k} | ${v} |`)];
  lines.push('', '| scenario | request | n | p50 ms | p99 ms | max ms |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of report.rows)
    lines.push(`| ${r.scenario} | ${r.type} | ${r.n} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`);
  return lines.join('\n');
}

// ---- scenarios ----

async function scenarioUploads(plan: Plan, server: Server, secret: string, dataDir: string, report: Report) {
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
  // the baseline is the idle server: its database pools close idle connections after 30 s
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

async function scenarioManySessions(plan: Plan, server: Server, secret: string, report: Report) {
  const owner = `load-many-${randomBytes(3).toString('hex')}`;
  const token = tokenFor(secret, owner);
  const base = { baseUrl: server.url, tusUrl: server.tusUrl, token };
  const [created] = await runWorkers<CreateResult>([
    { kind: 'create', ...base, count: plan.sessions, length: MiB, concurrency: 8 },
  ]);
  const ids = created?.ids ?? [];
  const lists = [
    'limit=50',
    'limit=50&offset=500',
    `limit=50&offset=${plan.sessions - 50}`,
    'limit=200&offset=200',
    'status=initiated&limit=50&offset=100',
  ];
  const probes: ProbeResult[] = [];
  for (const [label, concurrency] of [
    ['c=1', 1],
    ['c=8', 8],
  ] as const) {
    const [probe] = await runWorkers<ProbeResult>([
      { kind: 'probe', ...base, ids, lists, requests: plan.probeRequests, concurrency, label },
    ]);
    if (probe) probes.push(probe);
  }
  const samples = [...(created?.samples ?? []), ...probes.flatMap((p) => p.samples)];
  const errors = samples.filter((s) => s.status >= 400).length;
  if (ids.length !== plan.sessions) report.failures.push(`created ${ids.length} of ${plan.sessions} sessions`);
  if (errors > 0) report.failures.push(`${errors} error responses while probing the sessions`);
  const rows = rowsOf('b', samples);
  for (const r of rows) {
    if ((r.type.startsWith('GET list c=1') || r.type.startsWith('GET status c=1')) && !(r.p99 < 50)) {
      report.failures.push(`${r.type}: p99 ${ms(r.p99)} ms is not below 50 ms`);
    }
  }
  report.figures.push([
    `b) sessions of one user`,
    `${ids.length} (MAX_ACTIVE_SESSIONS raised to ${plan.sessions * 2})`,
  ]);
  report.rows.push(...rows);
}

async function scenarioCleanup(
  plan: Plan,
  env: Record<string, string>,
  secret: string,
  database: Database,
  report: Report,
) {
  // a server of its own, sweeping every 5 seconds
  const server = await startServer({ ...env, CLEANUP_CRON: '*/5 * * * * *' });
  try {
    const owner = `load-stale-${randomBytes(3).toString('hex')}`;
    const uploads = path.join(env.DATA_DIR ?? '', 'uploads');
    // stale sessions with their data, inserted directly; they become stale together, just before a sweep
    const far = new Date(Date.now() + 3_600_000);
    const ids: string[] = [];
    const data = randomBytes(plan.staleFileSize);
    for (let start = 0; start < plan.stale; start += 1000) {
      const rows = Array.from({ length: Math.min(1000, plan.stale - start) }, () => {
        const id = randomBytes(16).toString('hex');
        ids.push(id);
        return {
          id,
          ownerId: owner,
          filename: 'stale.bin',
          assetType: 'other',
          metadata: { filename: 'stale.bin' },
          uploadLength: plan.staleFileSize * 2,
          uploadOffset: plan.staleFileSize,
          chunkSize: 10 * MiB,
          totalChunks: 1,
          status: 'uploading' as const,
          expiresAt: far,
        };
      });
      await database.db.insert(uploadSessions).values(rows);
    }
    for (let i = 0; i < ids.length; i += 200) {
      await Promise.all(ids.slice(i, i + 200).map((id) => writeFile(path.join(uploads, id), data)));
    }

    // the live upload runs from before the sweep to after it
    const patcher = startWorker<PatcherResult>({
      kind: 'patcher',
      baseUrl: server.url,
      tusUrl: server.tusUrl,
      token: tokenFor(secret, `${owner}-live`),
      size: 16 * MiB,
      piece: 256 * 1024,
      seed: `live-${owner}`,
    });
    await patcher.ready;
    patcher.go();
    // stale from the next sweep on that is at least 4 s away, so a baseline of PATCHes comes first
    const tick = Math.ceil((Date.now() + 4000) / 5000) * 5000;
    await database.db
      .update(uploadSessions)
      .set({ expiresAt: new Date(tick - 500) })
      .where(sql`${uploadSessions.ownerId} = ${owner}`);
    const deadline = Date.now() + 15 * 60_000;
    let sweep: Record<string, unknown> | undefined;
    while (!sweep && Date.now() < deadline) {
      sweep = server.logs('cleanup sweep').find((e) => Number(e.expired) >= plan.stale);
      if (!sweep) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // a little more live traffic after the sweep, then the live upload finishes
    const sweepEnd = sweep ? Number(sweep.time) : Date.now();
    const until = Date.now() + 2000;
    while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    patcher.stop();
    const live = await patcher.result;
    if (!sweep) {
      report.failures.push('the cleanup sweep did not report expiring every stale session within 15 minutes');
      return;
    }
    const sweepMs = Number(sweep.ms);
    const sweepStart = sweepEnd - sweepMs;
    const [{ n: stillStale } = { n: -1 }] = await database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(uploadSessions)
      .where(sql`${uploadSessions.ownerId} = ${owner} and ${uploadSessions.status} <> 'expired'`);
    const leftFiles = (await readdir(uploads)).filter((f) => ids.includes(f)).length;
    if (stillStale !== 0) report.failures.push(`${stillStale} stale sessions not expired`);
    if (leftFiles !== 0) report.failures.push(`${leftFiles} data files of expired sessions left`);
    const failedLive = live.uploads.filter((u) => u.error || !u.assetId);
    if (failedLive.length > 0)
      report.failures.push(`live uploads failed: ${failedLive.map((u) => u.error).join('; ')}`);
    for (const u of live.uploads.filter((x) => x.assetId)) {
      const asset = await fetch(`${server.url}/storage/assets/${u.assetId}`, {
        headers: { Authorization: `Bearer ${tokenFor(secret, `${owner}-live`)}` },
      }).then((r) => r.json() as Promise<{ sha256: string }>);
      if (asset.sha256 !== u.sha256) report.failures.push(`live upload ${u.index}: asset differs from its source`);
    }
    const patches = live.samples.filter((s) => s.type === 'PATCH');
    const during = patches.filter((s) => s.at + s.ms >= sweepStart && s.at <= sweepEnd);
    const before = patches.filter((s) => s.at + s.ms < sweepStart);
    const errors = live.samples.filter((s) => s.status >= 500).length;
    if (errors > 0) report.failures.push(`${errors} live requests answered 5xx during the sweep`);
    report.figures.push(
      [`c) stale sessions swept (with ${plan.staleFileSize / 1024} KiB data files)`, String(sweep.expired)],
      [`c) sweep time`, `${(sweepMs / 1000).toFixed(1)} s`],
      [`c) rows per second`, (Number(sweep.expired) / (sweepMs / 1000)).toFixed(0)],
      [
        `c) live uploads during the sweep (16 MiB, 256 KiB PATCHes)`,
        `${live.uploads.length}, all byte-identical: ${failedLive.length === 0}`,
      ],
    );
    report.rows.push(
      ...rowsOf('c', [
        ...before.map((s) => ({ ...s, type: 'PATCH before the sweep' })),
        ...during.map((s) => ({ ...s, type: 'PATCH during the sweep' })),
      ]),
    );
  } finally {
    await server.stop();
    reportErrors(server, report);
  }
}

/** Every error the server logged is a failure of the run, shown with its message. */
function reportErrors(server: Server, report: Report): void {
  for (const entry of server.errors().slice(0, 5)) {
    const err = entry.err as { message?: string; stack?: string } | undefined;
    report.failures.push(`server logged: ${String(entry.msg)}: ${err?.stack ?? err?.message ?? JSON.stringify(entry)}`);
  }
}

// ---- main ----

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      // a subset of the scenarios, e.g. --scenarios a (default a,b,c)
      scenarios: { type: 'string', default: 'a,b,c' },
      // extra environment for the server process, e.g. --server-env MALLOC_ARENA_MAX=2
      'server-env': { type: 'string', multiple: true, default: [] },
    },
  });
  const extraEnv = Object.fromEntries(
    (values['server-env'] ?? []).map((pair) => [pair.split('=')[0] ?? '', pair.split('=').slice(1).join('=')]),
  );
  const plan = values.short ? SHORT : FULL;
  const scenarios = new Set((values.scenarios ?? '').split(',').map((s) => s.trim()));
  const build = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/build.ts'), '--server'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('building the server failed');
  // an empty DATABASE_URL counts as unset, as it does for the server
  const given = process.env.DATABASE_URL || undefined;
  const dbName = `t_i8_load_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const psql = (command: string) =>
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', command], { stdio: 'pipe' });
  if (!given) psql(`CREATE DATABASE ${dbName}`);
  const databaseUrl = given ?? `postgres://postgres@127.0.0.1:5432/${dbName}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'upload-load-'));
  const secret = randomBytes(32).toString('hex');
  const env = {
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    JWT_SECRET: secret,
    LOG_LEVEL: 'info',
    UPLOADS_PER_HOUR: '0',
    MAX_ACTIVE_SESSIONS: String(plan.sessions * 2),
    CLEANUP_CRON: '0 0 1 1 *',
    ...extraEnv,
  };
  const report: Report = {
    plan,
    database: `PostgreSQL ${given ? '(DATABASE_URL)' : `(fresh database ${dbName})`}`,
    when: new Date().toISOString(),
    machine: `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${mib(os.totalmem())} MiB RAM, Node ${process.version}`,
    failures: [],
    figures: [],
    rows: [],
  };
  const database = await openDatabase({ kind: 'postgres', url: databaseUrl, maxConnections: 4 });
  const stopAll = async () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    void stopAll().then(() => {
      if (!given) psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      process.exit(130);
    });
  });
  const started = Date.now();
  try {
    const server = await startServer(env);
    try {
      console.log(`load (${plan.name}): server pid ${server.pid} on ${server.url}, ${report.database}`);
      if (scenarios.has('a')) {
        console.log('a) concurrent uploads ...');
        await scenarioUploads(plan, server, secret, dataDir, report);
      }
      if (scenarios.has('b')) {
        console.log('b) many sessions of one user ...');
        await scenarioManySessions(plan, server, secret, report);
      }
    } finally {
      await server.stop();
      reportErrors(server, report);
    }
    if (scenarios.has('c')) {
      console.log('c) cleanup sweep with a live upload ...');
      await scenarioCleanup(plan, env, secret, database, report);
    }
  } catch (error) {
    report.failures.push(`run failed: ${describeError(error)}`);
  } finally {
    await stopAll();
    await database.close();
    if (!given) psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await rm(dataDir, { recursive: true, force: true });
  }
  report.figures.unshift(['run', `${plan.name}, ${((Date.now() - started) / 1000).toFixed(0)} s, ${report.when}`]);
  report.figures.splice(1, 0, ['machine', report.machine], ['database', report.database]);
  const text = table(report);
  console.log(`\n${text}\n`);
  if (report.failures.length > 0) {
    console.log(`FAILED:\n  - ${report.failures.join('\n  - ')}`);
    return 1;
  }
  console.log('all load checks passed');
  if (plan.name === 'full' && scenarios.size === 3) await writeReport(text);
  return 0;
}

/** An error with its cause (drizzle puts the driver's message there), without the query text. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const head = error.message.length > 300 ? `${error.message.slice(0, 300)}...` : error.message;
  const stack = error.stack?.split('\n').slice(1, 6).join('\n') ?? '';
  return error.cause === undefined ? `${head}\n${stack}` : `${head}\n${stack}\n  cause: ${describeError(error.cause)}`;
}

/** Replaces the figures between the markers in docs/reliability.md. */
async function writeReport(text: string): Promise<void> {
  const begin = '<!-- load figures: begin -->';
  const end = '<!-- load figures: end -->';
  const doc = await readFile(REPORT, 'utf8').catch(() => '');
  const at = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (at < 0 || to < at) {
    console.log(`${REPORT} has no figure markers; not written`);
    return;
  }
  await writeFile(REPORT, `${doc.slice(0, at + begin.length)}\n${text}\n${doc.slice(to)}`);
  // the tables as the formatter lays them out, so `npm run lint` stays clean
  spawnSync('npx', ['biome', 'format', '--write', REPORT], { cwd: ROOT, stdio: 'ignore' });
  console.log(`figures written to ${path.relative(ROOT, REPORT)}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
