// One process at a time on an embedded database: while a server runs on DATA_DIR/pglite, a second
// server, `npm run cleanup` and `npm run db:migrate` on the same DATA_DIR are refused with exit code
// 2 and one line naming the process that holds it; a lock left by a process killed with SIGKILL is
// taken over; within one process a second opener is refused too.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { openDatabase } from '../../db/client.js';
import { StartRefusedError } from '../../db/start-refused.js';
import { removeDir, tempDir } from '../helpers/files.js';
import { runScript, type ScriptRun } from '../helpers/scripts.js';
import { type ChildServer, ROOT, startChildServer } from '../helpers/server.js';
import { serverBundle } from '../helpers/server-bundle.js';
import { TEST_JWT_SECRET } from '../helpers/tokens.js';

// the embedded database whatever the test run uses: an empty DATABASE_URL counts as unset
const EMBEDDED = { DATABASE_URL: '' };

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** The server (as `npm start` runs it), expected to exit at once. */
async function runServer(dataDir: string): Promise<ScriptRun> {
  const child = spawn(process.execPath, [await serverBundle()], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET },
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
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Exit code 2 and exactly one line on stderr naming the holder, no stack trace. */
function expectRefusedBy(run: ScriptRun, holder: number, dataDir: string): void {
  expect(run.code, run.stderr).to.equal(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).to.have.length(1);
  expect(lines[0]).to.include(`${path.join(dataDir, 'pglite')} (the embedded database) is in use by process ${holder}`);
  // the holder's command line: the server as npm start runs it
  expect(lines[0]).to.include(path.join('dist', 'main.js'));
  expect(lines[0]).to.include(path.join(dataDir, 'pglite.lock'));
  expect(run.stderr).not.to.match(/^\s+at /m);
}

describe('the embedded database lock', () => {
  let dataDir: string;
  let server: ChildServer | undefined;

  before(async () => {
    dataDir = await tempDir('upload-test-pglite-lock-');
  });
  after(async () => {
    await server?.kill('SIGKILL');
    await removeDir(dataDir);
  });

  it('refuses a second server, npm run cleanup and npm run db:migrate while a server holds it (exit 2, the holder named)', async function () {
    this.timeout(120_000);
    server = await startChildServer(dataDir, EMBEDDED);
    const pid = server.process.pid ?? 0;
    const lock = JSON.parse(await readFile(path.join(dataDir, 'pglite.lock'), 'utf8')) as Record<string, unknown>;
    expect(lock).to.include({ pid });
    expect(lock.host).to.be.a('string');
    expect(Date.parse(String(lock.startedAt))).to.be.at.most(Date.now());

    const env = { DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, ...EMBEDDED };
    expectRefusedBy(await runScript('cleanup', env), pid, dataDir);
    expectRefusedBy(await runScript('db:migrate', env), pid, dataDir);
    expectRefusedBy(await runServer(dataDir), pid, dataDir);

    // the holder was not disturbed
    const health = await fetch(`${server.url}/readyz`);
    expect(health.status).to.equal(200);
  });

  it('is taken over from a process killed with SIGKILL, and released by a clean exit', async function () {
    this.timeout(120_000);
    if (!server) throw new Error('the first test starts the server');
    const dead = server.process.pid;
    await server.kill('SIGKILL');
    server = undefined;
    const lockFile = path.join(dataDir, 'pglite.lock');
    expect((JSON.parse(await readFile(lockFile, 'utf8')) as { pid: number }).pid, 'left behind').to.equal(dead);

    const migrate = await runScript('db:migrate', { DATA_DIR: dataDir, ...EMBEDDED });
    expect(migrate.code, migrate.stderr).to.equal(0);
    expect(migrate.stdout).to.include('migrations applied (pglite)');
    expect(await exists(lockFile), 'released at exit').to.equal(false);
  });

  it('refuses a lock held on another host, and a second opener in the same process', async function () {
    this.timeout(60_000);
    const lockFile = path.join(dataDir, 'pglite.lock');
    const foreign = { pid: 1, host: 'another-host.example', startedAt: new Date().toISOString(), command: 'x' };
    await writeFile(lockFile, JSON.stringify(foreign));
    const refused = await openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'pglite') }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(StartRefusedError);
    expect((refused as Error).message).to.include('process 1 on host another-host.example');
    await removeDir(lockFile);

    const first = await openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'pglite') });
    try {
      const second = await openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'pglite') }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(second).to.be.instanceOf(StartRefusedError);
      expect((second as Error).message).to.include(`in use by process ${process.pid}`);
    } finally {
      await first.close();
    }
    expect(await exists(lockFile)).to.equal(false);
  });
});
