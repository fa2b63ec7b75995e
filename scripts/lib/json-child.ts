// A TypeScript script run in a child process with one JSON job as its argument, as the benchmark
// clients and the load workers are: it prints a line when it is ready, and its last stdout line is
// its JSON result. Shared by bench/ and test/load/.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface JsonChild<R> {
  child: ChildProcess;
  /** Resolves at the child's first line (or its exit). */
  ready: Promise<void>;
  /** The last line, parsed, when the child exits with 0; else an error with the end of its stderr. */
  result: Promise<R>;
}

export function runJsonChild<R>(root: string, script: string, job: { kind: string }): JsonChild<R> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const lines: string[] = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      markReady();
    });
  }
  const result = new Promise<R>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      markReady();
      const last = lines.at(-1);
      if (code === 0 && last) {
        try {
          resolve(JSON.parse(last) as R);
          return;
        } catch {
          // not JSON: reported below
        }
      }
      reject(new Error(`${job.kind} exited with ${code ?? signal}: ${stderr.join('').trim().slice(-2000)}`));
    });
  });
  return { child, ready, result };
}
