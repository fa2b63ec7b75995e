// Child processes of the benchmark: the three servers (each its own Node process, logging to a
// file), the client processes, peak-RSS sampling from /proc, and a registry so that everything
// started here is stopped again, also on Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runJsonChild } from '../../scripts/lib/json-child.js';
import type { Job, JobResult } from './jobs.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const running = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Stops every process started through this module (used on errors and on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child, 5_000)));
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export type ServerName = 'ours' | 'stock' | 'limit';

export interface ServerProcess {
  name: ServerName;
  child: ChildProcess;
  pid: number;
  endpoint: string;
  dataDir: string;
  log: string;
}

export interface ServerLaunch {
  name: ServerName;
  dataDir: string;
  log: string;
  env: Record<string, string>;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** The stock server's entry for object storage instead of files. */
  storage?: 's3';
}

// ours runs as `npm start` does: the compiled bundle (built by `npm run build`)
const ENTRY: Record<ServerName, string> = {
  ours: 'dist/main.js',
  stock: 'bench/servers/stock.ts',
  limit: 'bench/servers/limit.ts',
};

const STOCK_S3 = 'bench/servers/stock-s3.ts';

/** Starts a server (ours compiled, the others under tsx) and waits until /files answers OPTIONS. */
export async function startServer(launch: ServerLaunch): Promise<ServerProcess> {
  const port = await freePort();
  const fd = openSync(launch.log, 'a');
  const child = track(
    spawn(
      process.execPath,
      [
        ...(launch.nodeFlags ?? []),
        ...(launch.name === 'ours' ? [] : ['--import', 'tsx']),
        path.join(ROOT, launch.storage === 's3' && launch.name === 'stock' ? STOCK_S3 : ENTRY[launch.name]),
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATA_DIR: launch.dataDir,
          ...launch.env,
        },
        stdio: ['ignore', fd, fd],
      },
    ),
  );
  closeSync(fd);
  const endpoint = `http://127.0.0.1:${port}/files`;
  const deadline = Date.now() + 120_000;
  while (!(await answers(endpoint))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${launch.name} server exited (${child.exitCode ?? child.signalCode}); see ${launch.log}`);
    }
    if (Date.now() > deadline) {
      await stopProcess(child, 1_000);
      throw new Error(`${launch.name} server did not answer within 120 s; see ${launch.log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { name: launch.name, child, pid: child.pid ?? 0, endpoint, dataDir: launch.dataDir, log: launch.log };
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'OPTIONS', headers: { 'Tus-Resumable': '1.0.0' } }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2_000, () => req.destroy());
    req.end();
  });
}

export interface ClientRun<R extends JobResult> {
  /** Resolves once the client printed its first line (a probe prints `{"ready":true}`). */
  ready: Promise<void>;
  result: Promise<R>;
  /** Closes the client's stdin: a probe stops and reports. */
  finish(): void;
}

/** Runs bench/client.ts with one job in its own process. */
export function runClient<R extends JobResult>(job: Job, timeoutMs = 20 * 60_000): ClientRun<R> {
  const { child, ready, result } = runJsonChild<R>(ROOT, path.join(ROOT, 'bench/client.ts'), job);
  track(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  void result.finally(() => clearTimeout(timer)).catch(() => {});
  return { ready, result, finish: () => child.stdin?.end() };
}

/** Peak VmRSS (bytes) of a process, sampled every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs = 100): { stop(): number | null } {
  let peak: number | null = null;
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (match?.[1]) peak = Math.max(peak ?? 0, Number(match[1]) * 1024);
    } catch {
      // not Linux, or the process is gone
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      read();
      clearInterval(timer);
      return peak;
    },
  };
}
