// Child processes of the load run: the real server (built bundle, JSON log lines parsed for errors)
// and the worker processes, started together and collected; every child is tracked so it can be
// killed at the end or on Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { runJsonChild } from '../../scripts/lib/json-child.js';
import type { Job, JobResult } from './jobs.js';
import { ROOT } from './plan.js';

// ---- child processes ----

export const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface Server {
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

export async function startServer(env: Record<string, string>): Promise<Server> {
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

export interface Worker<R extends JobResult> {
  ready: Promise<void>;
  go(): void;
  stop(): void;
  result: Promise<R>;
}

export function startWorker<R extends JobResult>(job: Job): Worker<R> {
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
export async function runWorkers<R extends JobResult>(jobs: Job[]): Promise<R[]> {
  const workers = jobs.map((job) => startWorker<R>(job));
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) w.go();
  return Promise.all(workers.map((w) => w.result));
}
