// Minting a development token as the README says: the hint the server logs at start names DATA_DIR
// when it is not the default, and the command it shows mints a token that server accepts;
// `npm run token` without --sub says so in one line.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { removeDir, tempDir } from '../../helpers/files.js';
import { ROOT } from '../../helpers/server.js';
import { serverBundle } from '../../helpers/server-bundle.js';

const run = promisify(execFile);

interface Failure {
  code?: number;
  stderr?: string;
}

describe('npm run token', () => {
  // a server this file started: stopped in after() too, so a test that timed out leaves none behind
  let server: ChildProcess | undefined;
  after(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
  });

  it('says --sub is required, in one line, with exit code 2', async () => {
    const failure = await run('npm', ['run', '--silent', 'token'], { cwd: ROOT, env: { PATH: process.env.PATH } }).then(
      () => undefined,
      (error: unknown) => error as Failure,
    );
    expect(failure?.code).to.equal(2);
    const lines = (failure?.stderr ?? '').trimEnd().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^npm run token: --sub is required .*npm run token -- --sub NAME/);
  });

  it('works as the start-up hint shows it, DATA_DIR included when it is not the default', async () => {
    const dataDir = await tempDir('upload-token-hint-');
    const child = spawn(process.execPath, [await serverBundle()], {
      cwd: ROOT,
      // no JWT settings: development mode
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_FORMAT: 'json',
        ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    server = child;
    try {
      let url = '';
      let hint = '';
      for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'upload server listening') url = entry.url ?? '';
        const match = /Mint a token with: (.*)$/.exec(entry.msg ?? '');
        if (match?.[1]) {
          hint = match[1];
          break;
        }
      }
      expect(hint).to.equal(`DATA_DIR=${dataDir} npm run token -- --sub alice`);
      // as a person would paste it, from the project's directory, with no DATA_DIR of their own
      const { stdout } = await run('sh', ['-c', hint], { cwd: ROOT, env: { PATH: process.env.PATH } });
      const token = stdout.trim().split('\n').at(-1) ?? '';
      const list = await fetch(`${url}/storage/chunked-upload`, { headers: { Authorization: `Bearer ${token}` } });
      expect(list.status).to.equal(200);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      await removeDir(dataDir);
    }
  });
});
