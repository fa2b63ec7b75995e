// Scenario c: a cleanup sweep of many stale sessions with their data files on a server of its own,
// with the p99 of a live upload's PATCHes before and during the sweep.
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { uploadSessions } from '../../db/schema.js';
import { MiB, type PatcherResult } from './jobs.js';
import { type Plan, tokenFor } from './plan.js';
import { startServer, startWorker } from './processes.js';
import { type Report, reportErrors, rowsOf } from './report.js';

export async function scenarioCleanup(
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
