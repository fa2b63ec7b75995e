// Benchmark runner (`npm run bench`, `npm run bench -- --quick`). Starts our server (default
// configuration, auth on; PostgreSQL when DATABASE_URL is set, else PGlite), stock @tus/server +
// @tus/file-store and a minimal "limit" server, each in its own process on one disk, and runs each
// workload against each in turn (A B C, A B C) for several rounds, with tus-js-client in separate
// client processes. Prints medians, min-max and the ratios ours/stock and ours/limit, and writes
// bench/results.json after a complete full run. Options: see usage() below and bench/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomFill } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { cpuMeter } from './lib/cpu.js';
import type { FinaliseResult, ProbeResult, UploadJob, UploadResult } from './lib/jobs.js';
import {
  ROOT,
  runClient,
  type ServerName,
  type ServerProcess,
  sampleRss,
  startServer,
  stopAll,
  stopProcess,
} from './lib/processes.js';
import { formatBytes, GiB, MiB, median, quantile, type Spread, spread } from './lib/stats.js';
import { runW6, type W6Plan, w6Label } from './lib/w6.js';

const fillRandom = (buffer: Buffer, length: number) =>
  new Promise<void>((resolve, reject) => randomFill(buffer, 0, length, (error) => (error ? reject(error) : resolve())));

// ---- plan ----

interface Plan {
  mode: 'full' | 'quick';
  rounds: number;
  w1: number;
  w2: { size: number; chunk: number };
  w3: { count: number; size: number };
  w5: { sizes: number[]; repeats: number[]; baseline: number };
  w6: W6Plan;
  /** W4 sends a HEAD and a POST this often. */
  probeIntervalMs: number;
}

const FULL: Plan = {
  mode: 'full',
  rounds: 3,
  w1: GiB,
  w2: { size: GiB, chunk: 10 * MiB },
  w3: { count: 64, size: 16 * MiB },
  w5: { sizes: [MiB, 100 * MiB, GiB], repeats: [5, 2, 1], baseline: 5 },
  w6: { count: 100, size: 4 * MiB, chunk: MiB, users: 10, headIntervalMs: 20 },
  probeIntervalMs: 50,
};

const QUICK: Plan = {
  mode: 'quick',
  rounds: 1,
  w1: 128 * MiB,
  w2: { size: 128 * MiB, chunk: 10 * MiB },
  w3: { count: 32, size: 4 * MiB },
  w5: { sizes: [MiB, 16 * MiB, 128 * MiB], repeats: [3, 1, 1], baseline: 5 },
  w6: { count: 100, size: 4 * MiB, chunk: MiB, users: 10, headIntervalMs: 20 },
  probeIntervalMs: 50,
};

const WORKLOADS = ['W1', 'W2', 'W3', 'W5', 'W6'] as const;
type Workload = (typeof WORKLOADS)[number];
const SERVERS: readonly ServerName[] = ['ours', 'stock', 'limit'];

function usage(): string {
  return `usage: npm run bench -- [options]
  --quick              ~1 minute smoke run: smaller sizes, 1 round, no results file
  --rounds N           rounds of A B C (default 3; quick 1)
  --servers LIST       comma list of ours,stock,limit (default all)
  --workloads LIST     comma list of W1,W2,W3,W5,W6 (W4 runs alongside W3; default all)
  --dir PATH           work directory for inputs and server data (default $TMPDIR/tus-bench)
  --out FILE           results file (default bench/results.json for complete, unprofiled full runs)
  --cpu-prof DIR       run our server under node --cpu-prof, profiles and windows.json into DIR
  --keep               keep server data directories and logs
Environment: DATABASE_URL (PostgreSQL for our server; a fresh database is created per round)`;
}

// ---- metrics ----

type Better = 'higher' | 'lower';

interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: Better;
  /** Print ours/stock and ours/limit for it. */
  ratio: boolean;
  digits: number;
}

function metricDefs(plan: Plan, workloads: readonly Workload[]): MetricDef[] {
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
  }
  for (const workload of workloads) {
    const key = workload.toLowerCase();
    add(`cpu.${key}`, `${workload} server CPU (user+sys) per GiB`, 's/GiB', 'lower', true, 2);
  }
  return defs;
}

/** values[server][metric][round] */
type Values = Record<string, Record<string, (number | null)[]>>;

function record(values: Values, server: string, key: string, round: number, value: number | null): void {
  values[server] ??= {};
  const perServer = values[server];
  perServer[key] ??= [];
  (perServer[key] as (number | null)[])[round] = value;
}

// ---- environment ----

interface Options {
  plan: Plan;
  servers: ServerName[];
  workloads: Workload[];
  workDir: string;
  out: string | undefined;
  cpuProf: string | undefined;
  keep: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      servers: { type: 'string' },
      workloads: { type: 'string' },
      dir: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  const plan = { ...(values.quick ? QUICK : FULL) };
  if (values.rounds !== undefined) {
    const rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive whole number');
    plan.rounds = rounds;
  }
  const list = <T extends string>(text: string | undefined, all: readonly T[], what: string): T[] => {
    if (text === undefined) return [...all];
    const picked = text.split(',').map((s) => s.trim());
    for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} ${p}; use ${all.join(',')}`);
    return all.filter((a) => picked.includes(a));
  };
  const servers = list(values.servers, SERVERS, 'server');
  const workloads = list(values.workloads, WORKLOADS, 'workload');
  // only a complete, unprofiled full run replaces bench/results.json unless --out says otherwise
  const complete =
    plan.mode === 'full' &&
    servers.length === SERVERS.length &&
    workloads.length === WORKLOADS.length &&
    !values['cpu-prof'];
  return {
    plan,
    servers,
    workloads,
    workDir: path.resolve(values.dir ?? path.join(os.tmpdir(), 'tus-bench')),
    out: values.out ?? (complete ? path.join(ROOT, 'bench/results.json') : undefined),
    cpuProf: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    keep: values.keep,
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** One random input file of at least `size` bytes, generated once and reused across runs. */
async function inputFile(dir: string, size: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) {
    const match = /^random-(\d+)\.bin$/.exec(name);
    if (match && Number(match[1]) >= size) {
      const file = path.join(dir, name);
      if ((await stat(file)).size === Number(match[1])) return file;
    }
  }
  const file = path.join(dir, `random-${size}.bin`);
  log(`generating ${formatBytes(size)} of random input in ${file}`);
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w');
  try {
    const block = Buffer.allocUnsafe(4 * MiB);
    for (let at = 0; at < size; at += block.length) {
      const n = Math.min(block.length, size - at);
      await fillRandom(block, n);
      await handle.write(block, 0, n, at);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, file);
  return file;
}

async function emptyDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await Promise.all((await readdir(dir)).map((name) => rm(path.join(dir, name), { recursive: true, force: true })));
}

/** Flushes every dirty page so no workload pays for the previous one's writeback. */
function syncDisk(): void {
  try {
    execFileSync('sync');
  } catch {
    // no sync(1) here; the next workload may see some writeback
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function gitCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return null;
  }
}

// ---- databases for our server ----

interface RoundDatabase {
  url: string | undefined;
  drop(): Promise<void>;
}

async function roundDatabase(baseUrl: string | undefined, round: number): Promise<RoundDatabase> {
  if (!baseUrl) return { url: undefined, drop: async () => {} };
  const name = `tus_bench_${process.pid}_${round}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } catch (error) {
    await admin.end({ timeout: 5 });
    log(`could not create a fresh database (${String(error)}); using DATABASE_URL as given`);
    return { url: baseUrl, drop: async () => {} };
  }
  await admin.end({ timeout: 5 });
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(baseUrl, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      } catch (error) {
        log(`could not drop database ${name}: ${String(error)}`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

// ---- workloads ----

interface Context {
  plan: Plan;
  input: string;
  secret: string;
  clockOffsetMs: number;
  windows: { server: ServerName; workload: string; round: number; startUs: number; endUs: number }[];
  errors: string[];
  loads: number[];
}

const epochNow = () => performance.timeOrigin + performance.now();

function dataPaths(server: ServerProcess): string[] {
  // ours keeps its database (PGlite) and secrets under DATA_DIR: only the uploaded bytes go
  return server.name === 'ours'
    ? [path.join(server.dataDir, 'uploads'), path.join(server.dataDir, 'assets')]
    : [server.dataDir];
}

function noteWindow(ctx: Context, server: ServerProcess, workload: string, round: number, from: number, to: number) {
  // epoch ms -> the monotonic microseconds V8 stamps into .cpuprofile files
  const toUs = (epoch: number) => Math.round((epoch - ctx.clockOffsetMs) * 1000);
  ctx.windows.push({ server: server.name, workload, round, startUs: toUs(from), endUs: toUs(to) });
}

function uploadJob(
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

function uploadFailed(ctx: Context, label: string, result: UploadResult): boolean {
  if (result.errors.length === 0) return false;
  ctx.errors.push(`${label}: ${result.errors.length} uploads failed, e.g. ${result.errors[0]}`);
  return true;
}

async function runW1orW2(
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

function mb(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(0)} MB`;
}

async function runW3(ctx: Context, server: ServerProcess, round: number, values: Values): Promise<string> {
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

async function runW5(ctx: Context, server: ServerProcess, round: number, values: Values): Promise<string> {
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
async function serverFinaliseTimes(logFile: string): Promise<Map<string, number>> {
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

async function runW6Round(ctx: Context, server: ServerProcess, round: number, values: Values): Promise<string> {
  const run = { server, input: ctx.input, secret: ctx.secret, owner: `W6-r${round + 1}`, plan: ctx.plan.w6 };
  const save = (key: string, value: number | null) => record(values, server.name, key, round, value);
  const outcome = await runW6(run, save, ctx.errors);
  noteWindow(ctx, server, 'W6', round, outcome.startedAt, outcome.endedAt);
  return outcome.text;
}

/** Bytes a workload sends, for CPU seconds per GiB. */
function workloadBytes(plan: Plan, workload: Workload): number {
  if (workload === 'W1') return plan.w1;
  if (workload === 'W2') return plan.w2.size;
  if (workload === 'W3') return plan.w3.count * plan.w3.size;
  if (workload === 'W6') return plan.w6.count * plan.w6.size;
  return plan.w5.sizes.reduce((sum, size, i) => sum + size * (plan.w5.repeats[i] ?? 1), 0);
}

// ---- report ----

interface Summary {
  metric: MetricDef;
  servers: Partial<Record<ServerName, Spread | null>>;
  ratios: { stock: Spread | null; limit: Spread | null };
}

function summarise(defs: MetricDef[], values: Values, rounds: number): Summary[] {
  return defs.map((metric) => {
    const servers: Partial<Record<ServerName, Spread | null>> = {};
    for (const name of SERVERS) {
      if (values[name]) servers[name] = spread(values[name]?.[metric.key] ?? []);
    }
    const ratio = (other: ServerName): Spread | null => {
      if (!metric.ratio) return null;
      const per: (number | null)[] = [];
      for (let r = 0; r < rounds; r++) {
        const a = values.ours?.[metric.key]?.[r];
        const b = values[other]?.[metric.key]?.[r];
        per.push(typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
      }
      return spread(per);
    };
    return { metric, servers, ratios: { stock: ratio('stock'), limit: ratio('limit') } };
  });
}

function formatSpread(s: Spread | null | undefined, digits: number): string {
  if (!s) return '-';
  const f = (v: number) => v.toFixed(digits);
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}..${f(s.max)})` : f(s.median);
}

function table(summaries: Summary[], servers: ServerName[]): string {
  const header = ['metric', 'unit', 'better', ...servers, 'ours/stock', 'ours/limit'];
  const rows = summaries.map((s) => [
    s.metric.label,
    s.metric.unit,
    s.metric.better,
    ...servers.map((name) => formatSpread(s.servers[name], s.metric.digits)),
    s.ratios.stock ? `${s.ratios.stock.median.toFixed(2)}x` : '-',
    s.ratios.limit ? `${s.ratios.limit.median.toFixed(2)}x` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 3 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

function checkTargets(summaries: Summary[], plan: Plan, database: string): TargetCheck[] {
  const get = (key: string) => summaries.find((s) => s.metric.key === key);
  const med = (key: string, server: ServerName = 'ours') => get(key)?.servers[server]?.median;
  const checks: TargetCheck[] = [];
  const ratioCheck = (key: string, other: 'stock' | 'limit', op: '>=' | '<=', bound: number, target: string) => {
    const r = get(key)?.ratios[other]?.median;
    if (r === undefined) return;
    checks.push({ target, measured: `${r.toFixed(2)}x`, met: op === '>=' ? r >= bound : r <= bound });
  };
  const absCheck = (key: string, bound: number, unit: string, target: string, applies = true) => {
    const v = med(key);
    if (v === undefined) return;
    checks.push({ target, measured: `${v.toFixed(1)} ${unit}`, met: applies ? v <= bound : null });
  };
  ratioCheck('w1', 'stock', '>=', 1.5, 'W1 >= 1.5x stock');
  ratioCheck('w1', 'limit', '>=', 0.8, 'W1 >= 0.8x limit');
  ratioCheck('w2', 'stock', '>=', 1.3, 'W2 >= 1.3x stock');
  ratioCheck('w3', 'stock', '>=', 1.2, 'W3 aggregate >= 1.2x stock');
  ratioCheck('w3.p99', 'stock', '<=', 1.0, 'W3 p99 per upload no worse than stock');
  absCheck('w4.head.p99', 10, 'ms', 'W4 HEAD p99 < 10 ms');
  absCheck('w4.post.p99', 25, 'ms', 'W4 POST p99 < 25 ms');
  const sizes = plan.w5.sizes;
  const largest = Math.max(...sizes);
  const w5 = get(`w5.server.${largest}`)?.servers.ours ? 'w5.server' : 'w5';
  absCheck(`${w5}.${largest}`, 50, 'ms', `W5 finalise ${formatBytes(largest)} <= 50 ms`);
  const small = med(`${w5}.${Math.min(...sizes)}`);
  const big = med(`${w5}.${largest}`);
  if (small !== undefined && big !== undefined) {
    checks.push({
      target: `W5 flat from ${formatBytes(Math.min(...sizes))} to ${formatBytes(largest)} (within 10 ms)`,
      measured: `${small.toFixed(1)} -> ${big.toFixed(1)} ms`,
      met: big - small <= 10,
    });
  }
  const postgresOnly = database === 'postgresql';
  const note = postgresOnly ? '' : ' (target is for PostgreSQL; this run used PGlite)';
  absCheck('rss.w1', 150, 'MB', `peak RSS in W1 <= 150 MB${note}`, postgresOnly);
  absCheck('rss.w3', 150, 'MB', `peak RSS in W3 <= 150 MB${note}`, postgresOnly);
  ratioCheck('w6', 'stock', '>=', 1.2, 'W6 aggregate >= 1.2x stock');
  absCheck('w6.head.p99', 50, 'ms', 'W6 HEAD p99 <= 50 ms');
  ratioCheck('cpu.w1', 'limit', '<=', 1.1, 'W1 CPU s/GiB <= 1.1x limit');
  return checks;
}

// ---- main ----

async function main(): Promise<void> {
  const options = parseOptions();
  const { plan } = options;
  const started = new Date();
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const database = databaseUrl ? 'postgresql' : 'pglite';
  await mkdir(options.workDir, { recursive: true });
  if (options.servers.includes('ours')) {
    // ours is measured as `npm start` runs it: the compiled bundle, built from this tree now
    const built = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/build.ts'), '--server'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (built.status !== 0) throw new Error('building the server failed');
  }

  const inputSize = Math.max(
    options.workloads.includes('W1') ? plan.w1 : 0,
    options.workloads.includes('W2') ? plan.w2.size : 0,
    options.workloads.includes('W3') ? plan.w3.count * plan.w3.size : 0,
    options.workloads.includes('W5') ? Math.max(...plan.w5.sizes) : 0,
    options.workloads.includes('W6') ? plan.w6.count * plan.w6.size : 0,
    MiB,
  );
  const perWorkload = Math.max(plan.w1, plan.w2.size, plan.w3.count * plan.w3.size, 2 * Math.max(...plan.w5.sizes));
  const free = await freeBytes(options.workDir);
  const needed = inputSize + perWorkload + 2 * GiB;
  log(`work dir ${options.workDir}: ${(free / GiB).toFixed(1)} GiB free, needs about ${(needed / GiB).toFixed(1)} GiB`);
  if (free < needed) throw new Error('not enough free disk space for the benchmark; use --dir elsewhere');
  const input = await inputFile(path.join(options.workDir, 'inputs'), inputSize);

  const secret = randomBytes(32).toString('hex');
  const ctx: Context = {
    plan,
    input,
    secret,
    clockOffsetMs: epochNow() - Number(process.hrtime.bigint()) / 1e6,
    windows: [],
    errors: [],
    loads: [],
  };
  const runDir = path.join(options.workDir, `run-${started.toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  await mkdir(runDir, { recursive: true });
  if (options.cpuProf) await mkdir(options.cpuProf, { recursive: true });
  const values: Values = {};
  log(
    `${plan.mode} run: ${plan.rounds} round(s) of ${options.servers.join(' ')}; ours on ${database}; ` +
      `workloads ${options.workloads.join(' ')}${options.workloads.includes('W3') ? ' (+W4)' : ''}`,
  );

  let aborted = false;
  /** Drops the current round's database; also called on Ctrl-C. */
  let dropping: (() => Promise<void>) | undefined;
  const onSignal = () => {
    if (aborted) return;
    aborted = true;
    log('interrupted: stopping servers and clients');
    stopAll()
      .then(() => dropping?.())
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    for (let round = 0; round < plan.rounds; round++) {
      const db = options.servers.includes('ours') ? await roundDatabase(databaseUrl, round) : undefined;
      dropping = db?.drop;
      const running: ServerProcess[] = [];
      try {
        for (const name of options.servers) {
          const dataDir = path.join(runDir, `round-${round + 1}`, name);
          await mkdir(dataDir, { recursive: true });
          const env: Record<string, string> =
            name === 'ours' ? { JWT_SECRET: secret, ...(db?.url ? { DATABASE_URL: db.url } : {}) } : {};
          const nodeFlags =
            name === 'ours' && options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProf}`] : [];
          const logFile = path.join(runDir, `${name}-round-${round + 1}.log`);
          running.push(await startServer({ name, dataDir, log: logFile, env, nodeFlags }));
        }
        for (const workload of options.workloads) {
          for (const server of running) {
            syncDisk();
            await sleep(300);
            ctx.loads.push(os.loadavg()[0] ?? 0);
            let text: string;
            const cpu = cpuMeter(server.pid);
            try {
              if (workload === 'W1' || workload === 'W2') text = await runW1orW2(ctx, server, round, workload, values);
              else if (workload === 'W3') text = await runW3(ctx, server, round, values);
              else if (workload === 'W6') text = await runW6Round(ctx, server, round, values);
              else text = await runW5(ctx, server, round, values);
              const perGiB = cpu.perGiB(workloadBytes(plan, workload));
              record(values, server.name, `cpu.${workload.toLowerCase()}`, round, perGiB);
              text += `; CPU ${perGiB?.toFixed(2) ?? 'n/a'} s/GiB`;
            } catch (error) {
              text = `FAILED: ${error instanceof Error ? error.message : String(error)}`;
              ctx.errors.push(`${workload} ${server.name} round ${round + 1}: ${text}`);
            }
            log(`[round ${round + 1}/${plan.rounds}] ${workload} ${server.name.padEnd(5)} ${text}`);
            if (!options.keep) for (const dir of dataPaths(server)) await emptyDir(dir);
          }
        }
      } finally {
        for (const server of running) await stopProcess(server.child);
        dropping = undefined;
        await db?.drop();
        if (!options.keep) await rm(path.join(runDir, `round-${round + 1}`), { recursive: true, force: true });
      }
    }
  } finally {
    await stopAll();
  }

  const defs = metricDefs(plan, options.workloads);
  const summaries = summarise(defs, values, plan.rounds);
  const targets = options.servers.length === SERVERS.length ? checkTargets(summaries, plan, database) : [];
  const finished = new Date();

  const machine = {
    date: started.toISOString(),
    cpus: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Number((os.totalmem() / GiB).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    disk_free_gib: Number((free / GiB).toFixed(1)),
    work_dir: options.workDir,
    commit: gitCommit(),
    /** 1-minute load average before each measurement: other work on the machine skews results. */
    load_1min: spread(ctx.loads),
  };
  console.log(
    `\n${plan.mode} run, ${plan.rounds} round(s), ours on ${database}; median (min..max) over rounds; ` +
      'ratios are medians of per-round ratios',
  );
  console.log(
    `${machine.cpus} cpus (${machine.cpu_model}), ${machine.memory_gib} GiB, node ${machine.node}, ` +
      `${machine.platform}, ${machine.date}; 1-min load average before measurements ` +
      `${formatSpread(machine.load_1min, 1)}\n`,
  );
  if ((machine.load_1min?.max ?? 0) > machine.cpus) {
    console.log('Note: the machine was busy with other work during this run; expect noise.\n');
  }
  console.log(table(summaries, options.servers));
  if (targets.length > 0) {
    console.log('\nTargets (issues 6 and 19):');
    for (const t of targets) {
      console.log(`  [${t.met === null ? 'n/a ' : t.met ? 'met ' : 'MISS'}] ${t.target}: ${t.measured}`);
    }
  }
  if (ctx.errors.length > 0) {
    console.log('\nErrors:');
    for (const e of ctx.errors) console.log(`  ${e}`);
  }

  if (options.cpuProf) {
    await writeFile(path.join(options.cpuProf, 'windows.json'), `${JSON.stringify(ctx.windows, null, 2)}\n`);
    log(`cpu profiles and windows.json in ${options.cpuProf}`);
  }
  if (options.out) {
    const results = {
      command: [
        databaseUrl ? 'DATABASE_URL=... ' : '',
        'npm run bench',
        process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : '',
      ].join(''),
      mode: plan.mode,
      started: started.toISOString(),
      finished: finished.toISOString(),
      database,
      machine,
      plan,
      servers: options.servers,
      workloads: options.workloads,
      summary: summaries.map((s) => ({
        key: s.metric.key,
        label: s.metric.label,
        unit: s.metric.unit,
        better: s.metric.better,
        ...s.servers,
        ratio_ours_stock: s.ratios.stock,
        ratio_ours_limit: s.ratios.limit,
      })),
      per_round: values,
      targets,
      errors: ctx.errors,
    };
    await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${path.relative(process.cwd(), options.out) || options.out}`);
  }
  if (options.keep) log(`server data and logs kept in ${runDir}`);
  else if (ctx.errors.length > 0) log(`server logs kept in ${runDir}`);
  else await rm(runDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    process.exit(1);
  },
);
