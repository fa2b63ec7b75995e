// The workloads as the runner drives them against one server for one round: W1/W2 (one upload,
// one PATCH or many), W3 with the W4 latency probe alongside, W5 (finalising) and W6 (load test).
// Each records its metrics into the round's values and returns a one-line summary.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FinaliseResult, ProbeResult, UploadJob, UploadResult } from './jobs.js';
import type { Plan, Values } from './plan.js';
import { record } from './plan.js';
import { runClient, type ServerName, type ServerProcess, sampleRss } from './processes.js';
import { formatBytes, MiB, median, quantile } from './stats.js';
import { runW6 } from './w6.js';

export interface Context {
  plan: Plan;
  input: string;
  secret: string;
  clockOffsetMs: number;
  windows: { server: ServerName; workload: string; round: number; startUs: number; endUs: number }[];
  errors: string[];
  loads: number[];
}

export const epochNow = () => performance.timeOrigin + performance.now();

export function dataPaths(server: ServerProcess): string[] {
  // ours keeps its database (PGlite) and secrets under DATA_DIR: only the uploaded bytes go
  return server.name === 'ours'
    ? ['uploads', 'assets', 'spool'].map((dir) => path.join(server.dataDir, dir))
    : [server.dataDir];
}

export function noteWindow(
  ctx: Context,
  server: ServerProcess,
  workload: string,
  round: number,
  from: number,
  to: number,
) {
  // epoch ms -> the monotonic microseconds V8 stamps into .cpuprofile files
  const toUs = (epoch: number) => Math.round((epoch - ctx.clockOffsetMs) * 1000);
  ctx.windows.push({ server: server.name, workload, round, startUs: toUs(from), endUs: toUs(to) });
}

export function uploadJob(
  ctx: Context,
  server: ServerProcess,
  owner: string,
  size: number,
  count: number,
  chunk: number | null,
): UploadJob {
  return {
    kind: 'upload',
    endpoint: server.endpoint,
    secret: ctx.secret,
    owner,
    expectAsset: server.name === 'ours',
    file: ctx.input,
    size,
    count,
    chunkSize: chunk,
  };
}

export function uploadFailed(ctx: Context, label: string, result: UploadResult): boolean {
  if (result.errors.length === 0) return false;
  ctx.errors.push(`${label}: ${result.errors.length} uploads failed, e.g. ${result.errors[0]}`);
  return true;
}

export async function runW1orW2(
  ctx: Context,
  server: ServerProcess,
  round: number,
  which: 'W1' | 'W2',
  values: Values,
): Promise<string> {
  const size = which === 'W1' ? ctx.plan.w1 : ctx.plan.w2.size;
  const chunk = which === 'W1' ? null : ctx.plan.w2.chunk;
  const rss = sampleRss(server.pid);
  const result = await runClient<UploadResult>(uploadJob(ctx, server, `${which}-r${round + 1}`, size, 1, chunk)).result;
  const peak = rss.stop();
  noteWindow(ctx, server, which, round, result.startedAt, result.endedAt);
  const failed = uploadFailed(ctx, `${which} ${server.name} round ${round + 1}`, result);
  const seconds = result.durations[0] === undefined ? null : result.durations[0] / 1000;
  const mibps = failed || seconds === null ? null : size / MiB / seconds;
  record(values, server.name, which.toLowerCase(), round, mibps);
  if (which === 'W1') record(values, server.name, 'rss.w1', round, peak === null ? null : peak / 1e6);
  return failed
    ? 'FAILED'
    : `${mibps?.toFixed(0)} MiB/s (${seconds?.toFixed(2)} s)${which === 'W1' ? `, peak RSS ${mb(peak)}` : ''}`;
}

export function mb(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(0)} MB`;
}

export async function runW3(ctx: Context, server: ServerProcess, round: number, values: Values): Promise<string> {
  const { count, size } = ctx.plan.w3;
  const probe = runClient<ProbeResult>({
    kind: 'probe',
    endpoint: server.endpoint,
    secret: ctx.secret,
    owner: `W4-r${round + 1}`,
    expectAsset: false,
    intervalMs: ctx.plan.probeIntervalMs,
    maxInFlight: 16,
  });
  probe.result.catch(() => {});
  await probe.ready;
  const rss = sampleRss(server.pid);
  let result: UploadResult;
  try {
    result = await runClient<UploadResult>(uploadJob(ctx, server, `W3-r${round + 1}`, size, count, null)).result;
  } finally {
    probe.finish();
  }
  const peak = rss.stop();
  noteWindow(ctx, server, 'W3', round, result.startedAt, result.endedAt);
  const failed = uploadFailed(ctx, `W3 ${server.name} round ${round + 1}`, result);
  const wall = (result.endedAt - result.startedAt) / 1000;
  const aggregate = failed ? null : (count * size) / MiB / wall;
  const p50 = failed ? null : (quantile(result.durations, 0.5) ?? 0) / 1000;
  const p99 = failed ? null : (quantile(result.durations, 0.99) ?? 0) / 1000;
  record(values, server.name, 'w3', round, aggregate);
  record(values, server.name, 'w3.p50', round, p50);
  record(values, server.name, 'w3.p99', round, p99);
  record(values, server.name, 'rss.w3', round, peak === null ? null : peak / 1e6);

  let probeText = 'probe failed';
  try {
    const probed = await probe.result;
    const inWindow = probed.samples.filter((s) => s.at >= result.startedAt && s.at <= result.endedAt);
    if (probed.errors.length > 0) {
      ctx.errors.push(
        `W4 ${server.name} round ${round + 1}: ${probed.errors.length} problems, e.g. ${probed.errors[0]}`,
      );
    }
    const ms = (method: 'HEAD' | 'POST') => inWindow.filter((s) => s.method === method).map((s) => s.ms);
    const head = ms('HEAD');
    const post = ms('POST');
    record(values, server.name, 'w4.head.p50', round, quantile(head, 0.5));
    record(values, server.name, 'w4.head.p99', round, quantile(head, 0.99));
    record(values, server.name, 'w4.post.p50', round, quantile(post, 0.5));
    record(values, server.name, 'w4.post.p99', round, quantile(post, 0.99));
    record(values, server.name, 'w4.skipped', round, probed.skipped);
    const skipped = probed.skipped > 0 ? `, ${probed.skipped} probes skipped (32 unanswered)` : '';
    probeText = `HEAD p99 ${quantile(head, 0.99)?.toFixed(1)} ms (n=${head.length}), POST p99 ${quantile(post, 0.99)?.toFixed(1)} ms (n=${post.length})${skipped}`;
  } catch (error) {
    ctx.errors.push(`W4 ${server.name} round ${round + 1}: ${String(error)}`);
  }
  return failed
    ? 'FAILED'
    : `${aggregate?.toFixed(0)} MiB/s, p99 ${p99?.toFixed(2)} s, peak RSS ${mb(peak)}; ${probeText}`;
}

export async function runW5(ctx: Context, server: ServerProcess, round: number, values: Values): Promise<string> {
  const { sizes, repeats, baseline } = ctx.plan.w5;
  const result = await runClient<FinaliseResult>({
    kind: 'finalise',
    endpoint: server.endpoint,
    secret: ctx.secret,
    owner: `W5-r${round + 1}`,
    expectAsset: server.name === 'ours',
    file: ctx.input,
    sizes,
    repeats,
    baseline,
  }).result;
  for (const e of result.errors) ctx.errors.push(`W5 ${server.name} round ${round + 1}: ${e}`);
  const timed = server.name === 'ours' ? await serverFinaliseTimes(server.log) : new Map<string, number>();
  const parts: string[] = [];
  for (const size of sizes) {
    const of = result.measurements.filter((m) => m.size === size);
    const client = median(of.map((m) => m.finaliseMs));
    record(values, server.name, `w5.${size}`, round, client);
    const onServer = median(of.map((m) => timed.get(m.uploadId)).filter((v): v is number => v !== undefined));
    if (server.name === 'ours') {
      if (onServer === null) ctx.errors.push(`W5 ours round ${round + 1}: no 'upload finished' log lines`);
      record(values, server.name, `w5.server.${size}`, round, onServer);
    }
    const serverText = onServer === null ? '' : `${onServer.toFixed(1)} ms on the server, `;
    parts.push(`${formatBytes(size)} ${serverText}${client?.toFixed(1) ?? 'n/a'} ms from the client`);
  }
  const largest = Math.max(...sizes);
  const final = median(result.measurements.filter((m) => m.size === largest).map((m) => m.finalMs));
  record(values, server.name, `w5.final.${largest}`, round, final);
  return `finalise ${parts.join('; ')}`;
}

/** Finalise durations by upload id, from the server's own 'upload finished' log lines. */
export async function serverFinaliseTimes(logFile: string): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.includes('"upload finished"')) continue;
    try {
      const entry = JSON.parse(line) as { upload_id?: string; ms?: number };
      if (entry.upload_id && typeof entry.ms === 'number') times.set(entry.upload_id, entry.ms);
    } catch {
      // a torn line; skip it
    }
  }
  return times;
}

export async function runW6Round(ctx: Context, server: ServerProcess, round: number, values: Values): Promise<string> {
  const run = { server, input: ctx.input, secret: ctx.secret, owner: `W6-r${round + 1}`, plan: ctx.plan.w6 };
  const save = (key: string, value: number | null) => record(values, server.name, key, round, value);
  const outcome = await runW6(run, save, ctx.errors);
  noteWindow(ctx, server, 'W6', round, outcome.startedAt, outcome.endedAt);
  return outcome.text;
}
