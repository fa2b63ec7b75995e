// W6, the seed's own load test, as the runner measures it: `count` uploads at once from `users`
// owners in 1 MiB PATCHes, with HEADs on those uploads timed from a separate thread of the client.
import type { LoadResult } from './jobs.js';
import { runClient, type ServerProcess } from './processes.js';
import { formatBytes, MiB, quantile } from './stats.js';

export interface W6Plan {
  count: number;
  size: number;
  chunk: number;
  users: number;
  headIntervalMs: number;
}

export interface W6Run {
  server: ServerProcess;
  input: string;
  secret: string;
  owner: string;
  plan: W6Plan;
}

export interface W6Outcome {
  text: string;
  startedAt: number;
  endedAt: number;
}

export function w6Label(plan: W6Plan): string {
  return `W6 ${plan.count} x ${formatBytes(plan.size)} in ${formatBytes(plan.chunk)} PATCHes, ${plan.users} users`;
}

/** Runs W6 against one server; `record(key, value)` stores each metric of this round. */
export async function runW6(
  run: W6Run,
  record: (key: string, value: number | null) => void,
  errors: string[],
): Promise<W6Outcome> {
  const { plan, server } = run;
  const result = await runClient<LoadResult>({
    kind: 'load',
    endpoint: server.endpoint,
    secret: run.secret,
    owner: run.owner,
    expectAsset: server.name === 'ours',
    file: run.input,
    size: plan.size,
    count: plan.count,
    users: plan.users,
    chunkSize: plan.chunk,
    headIntervalMs: plan.headIntervalMs,
  }).result;
  const failed = result.errors.length > 0;
  if (failed) errors.push(`W6 ${server.name}: ${result.errors.length} uploads failed, e.g. ${result.errors[0]}`);
  if (result.headErrors.length > 0) errors.push(`W6 ${server.name} HEAD: ${result.headErrors[0]}`);
  const wall = (result.endedAt - result.startedAt) / 1000;
  const aggregate = failed ? null : (plan.count * plan.size) / MiB / wall;
  const p50 = quantile(result.heads, 0.5);
  const p99 = quantile(result.heads, 0.99);
  record('w6', aggregate);
  record('w6.head.p50', p50);
  record('w6.head.p99', p99);
  const floor = quantile(result.options, 0.99);
  record('w6.options.p50', quantile(result.options, 0.5));
  record('w6.options.p99', floor);
  const text = failed
    ? 'FAILED'
    : `${aggregate?.toFixed(0)} MiB/s; HEAD p50 ${p50?.toFixed(1)} ms, p99 ${p99?.toFixed(1)} ms (n=${result.heads.length}); ` +
      `OPTIONS p99 ${floor?.toFixed(1)} ms`;
  return { text, startedAt: result.startedAt, endedAt: result.endedAt };
}
