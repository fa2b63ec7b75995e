// The benchmark's environment: free disk space, the random input file, flushing the disk between
// workloads, the commit being measured, and a fresh PostgreSQL database per round for our server.
import { execFileSync } from 'node:child_process';
import { randomFill } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { ROOT } from './processes.js';
import { formatBytes, MiB } from './stats.js';

const fillRandom = (buffer: Buffer, length: number) =>
  new Promise<void>((resolve, reject) => randomFill(buffer, 0, length, (error) => (error ? reject(error) : resolve())));

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** One random input file of at least `size` bytes, generated once and reused across runs. */
export async function inputFile(dir: string, size: number): Promise<string> {
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

export async function emptyDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await Promise.all((await readdir(dir)).map((name) => rm(path.join(dir, name), { recursive: true, force: true })));
}

/** Flushes every dirty page so no workload pays for the previous one's writeback. */
export function syncDisk(): void {
  try {
    execFileSync('sync');
  } catch {
    // no sync(1) here; the next workload may see some writeback
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function gitCommit(): string | null {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return null;
  }
}

// ---- databases for our server ----

export interface RoundDatabase {
  url: string | undefined;
  drop(): Promise<void>;
}

export async function roundDatabase(baseUrl: string | undefined, round: number): Promise<RoundDatabase> {
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
