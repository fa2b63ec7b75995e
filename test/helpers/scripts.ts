// The project's npm scripts (`npm run cleanup`, `npm run db:migrate`, ...) run as a user runs them,
// in a child process with only the environment given (plus PATH and HOME).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from './server.js';

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runScript(script: string, env: Record<string, string>): Promise<ScriptRun> {
  const child = spawn('npm', ['run', '--silent', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
