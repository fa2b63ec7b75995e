// What the runner does before it measures, so every server starts each measurement from the same
// state. Two effects on this kind of machine are large enough to swamp the differences measured:
//
// - A fresh Node process compiles its hot code as it runs (and ours on PGlite also tiers up the
//   database's WebAssembly on V8's background threads); a long-running server has done that long
//   ago. Each server gets a short load of the measured kinds (many small PATCHes and one large one)
//   right after it starts.
// - The virtual machine hands memory freed by the guest back to its host within about 2 s (Linux
//   free page reporting), and the first write into such memory faults on the host: measured here,
//   buffered writes of 1 GiB cost 1.7-1.9 s of system CPU into returned memory and 0.15-0.2 s into
//   memory freed a moment earlier, charged to whichever process writes. Without a fix, the server
//   that happens to run first after a pause (server start, a finished round) pays it and the next
//   does not. Before each measurement the runner writes, then deletes, a scratch file as large as the
//   workload's bytes, so the page cache every server fills is equally warm.
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LoadResult, UploadResult } from './jobs.js';
import type { Plan } from './plan.js';
import { runClient, type ServerProcess } from './processes.js';
import { MiB } from './stats.js';

/** Runs a small W6-like load and one large single-PATCH upload (plan.warmUp); returns problems seen, if any. */
export async function warmUp(
  server: ServerProcess,
  job: { input: string; secret: string; plan: Plan },
): Promise<string[]> {
  const base = { endpoint: server.endpoint, secret: job.secret, expectAsset: server.name === 'ours', file: job.input };
  const load = await runClient<LoadResult>({
    ...base,
    kind: 'load',
    owner: 'warm-up-load',
    size: 4 * MiB,
    count: job.plan.warmUp.uploads,
    users: 4,
    chunkSize: MiB,
    headIntervalMs: job.plan.w6.headIntervalMs,
  }).result;
  const large = await runClient<UploadResult>({
    ...base,
    kind: 'upload',
    owner: 'warm-up-large',
    size: Math.min(job.plan.warmUp.large, job.plan.w1),
    count: 1,
    chunkSize: null,
  }).result;
  return [...load.errors, ...large.errors];
}

const SCRATCH_BLOCK = 4 * MiB;

/** Writes `bytes` of zeros to a scratch file in `dir` and deletes it (unsynced: nothing reaches the disk). */
export async function warmPageCache(dir: string, bytes: number): Promise<void> {
  const file = path.join(dir, `page-cache-warmer-${process.pid}`);
  const block = Buffer.alloc(SCRATCH_BLOCK);
  const handle = await open(file, 'w');
  try {
    for (let at = 0; at < bytes; at += block.length) await handle.write(block, 0, block.length, at);
  } finally {
    await handle.close();
    await rm(file, { force: true });
  }
}
