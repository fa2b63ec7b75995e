// The benchmark plan: sizes and rounds of the full and quick runs, the workload and server names,
// the metrics each workload reports, and the per-round values they are recorded into.
import type { ServerName } from './processes.js';
import { formatBytes, GiB, MiB } from './stats.js';
import { type W6Plan, w6Label } from './w6.js';

export interface Plan {
  mode: 'full' | 'quick';
  rounds: number;
  w1: number;
  w2: { size: number; chunk: number };
  w3: { count: number; size: number };
  w5: { sizes: number[]; repeats: number[]; baseline: number };
  w6: W6Plan;
  /** W4 sends a HEAD and a POST this often. */
  probeIntervalMs: number;
  /** After each server starts: this many 4 MiB uploads in 1 MiB PATCHes, then one of `large` bytes. */
  warmUp: { uploads: number; large: number };
}

export const FULL: Plan = {
  mode: 'full',
  rounds: 3,
  w1: GiB,
  w2: { size: GiB, chunk: 10 * MiB },
  w3: { count: 64, size: 16 * MiB },
  w5: { sizes: [MiB, 100 * MiB, GiB], repeats: [5, 2, 1], baseline: 5 },
  w6: { count: 100, size: 4 * MiB, chunk: MiB, users: 10, headIntervalMs: 20 },
  probeIntervalMs: 50,
  warmUp: { uploads: 40, large: 64 * MiB },
};

export const QUICK: Plan = {
  mode: 'quick',
  rounds: 1,
  w1: 128 * MiB,
  w2: { size: 128 * MiB, chunk: 10 * MiB },
  w3: { count: 32, size: 4 * MiB },
  w5: { sizes: [MiB, 16 * MiB, 128 * MiB], repeats: [3, 1, 1], baseline: 5 },
  w6: { count: 100, size: 4 * MiB, chunk: MiB, users: 10, headIntervalMs: 20 },
  probeIntervalMs: 50,
  // a smoke run only has to show the warm-up works
  warmUp: { uploads: 8, large: 16 * MiB },
};

export const WORKLOADS = ['W1', 'W2', 'W3', 'W5', 'W6'] as const;
export type Workload = (typeof WORKLOADS)[number];
export const SERVERS: readonly ServerName[] = ['ours', 'stock', 'limit'];

export type Better = 'higher' | 'lower';

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: Better;
  /** Print ours/stock and ours/limit for it. */
  ratio: boolean;
  digits: number;
}

export function metricDefs(plan: Plan, workloads: readonly Workload[]): MetricDef[] {
  const defs: MetricDef[] = [];
  const add = (key: string, label: string, unit: string, better: Better, ratio: boolean, digits: number) =>
    defs.push({ key, label, unit, better, ratio, digits });
  if (workloads.includes('W1')) {
    add('w1', `W1 ${formatBytes(plan.w1)}, one PATCH`, 'MiB/s', 'higher', true, 0);
    add('rss.w1', 'peak RSS during W1', 'MB', 'lower', true, 0);
  }
  if (workloads.includes('W2')) {
    add('w2', `W2 ${formatBytes(plan.w2.size)} in ${formatBytes(plan.w2.chunk)} PATCHes`, 'MiB/s', 'higher', true, 0);
  }
  if (workloads.includes('W3')) {
    const what = `${plan.w3.count} x ${formatBytes(plan.w3.size)}`;
    add('w3', `W3 ${what} concurrent, aggregate`, 'MiB/s', 'higher', true, 0);
    add('w3.p50', 'W3 time per upload p50', 's', 'lower', true, 2);
    add('w3.p99', 'W3 time per upload p99', 's', 'lower', true, 2);
    add('rss.w3', 'peak RSS during W3', 'MB', 'lower', true, 0);
    add('w4.head.p50', 'W4 HEAD during W3 p50', 'ms', 'lower', true, 1);
    add('w4.head.p99', 'W4 HEAD during W3 p99', 'ms', 'lower', true, 1);
    add('w4.post.p50', 'W4 POST during W3 p50', 'ms', 'lower', true, 1);
    add('w4.post.p99', 'W4 POST during W3 p99', 'ms', 'lower', true, 1);
    add('w4.skipped', 'W4 probes skipped (32 unanswered)', 'count', 'lower', false, 0);
  }
  if (workloads.includes('W5')) {
    for (const size of plan.w5.sizes) {
      add(`w5.server.${size}`, `W5 finalise ${formatBytes(size)} (server clock)`, 'ms', 'lower', false, 1);
    }
    for (const size of plan.w5.sizes) {
      add(`w5.${size}`, `W5 completing minus plain PATCH ${formatBytes(size)}`, 'ms', 'lower', false, 1);
    }
    const largest = Math.max(...plan.w5.sizes);
    add(`w5.final.${largest}`, `W5 completing PATCH ${formatBytes(largest)}`, 'ms', 'lower', false, 1);
  }
  if (workloads.includes('W6')) {
    add('w6', `${w6Label(plan.w6)}, aggregate`, 'MiB/s', 'higher', true, 0);
    add('w6.head.p50', 'W6 HEAD (separate thread) p50', 'ms', 'lower', true, 1);
    add('w6.head.p99', 'W6 HEAD (separate thread) p99', 'ms', 'lower', true, 1);
    add('w6.options.p50', 'W6 OPTIONS beside each HEAD (the floor) p50', 'ms', 'lower', true, 1);
    add('w6.options.p99', 'W6 OPTIONS beside each HEAD (the floor) p99', 'ms', 'lower', true, 1);
  }
  for (const workload of workloads) {
    const key = workload.toLowerCase();
    add(`cpu.${key}`, `${workload} server CPU (user+sys) per GiB`, 's/GiB', 'lower', true, 2);
  }
  return defs;
}

/** values[server][metric][round] */
export type Values = Record<string, Record<string, (number | null)[]>>;

export function record(values: Values, server: string, key: string, round: number, value: number | null): void {
  values[server] ??= {};
  const perServer = values[server];
  perServer[key] ??= [];
  (perServer[key] as (number | null)[])[round] = value;
}

/** Bytes a workload sends, for CPU seconds per GiB. */
export function workloadBytes(plan: Plan, workload: Workload): number {
  if (workload === 'W1') return plan.w1;
  if (workload === 'W2') return plan.w2.size;
  if (workload === 'W3') return plan.w3.count * plan.w3.size;
  if (workload === 'W6') return plan.w6.count * plan.w6.size;
  return plan.w5.sizes.reduce((sum, size, i) => sum + size * (plan.w5.repeats[i] ?? 1), 0);
}
