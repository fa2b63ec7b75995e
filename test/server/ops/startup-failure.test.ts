// Start-up failures as a person meets them: `npm start`'s entry point in a child process with a
// database that is down, unknown or missing, a port that is taken, a DATA_DIR that is a file or
// not writable. Each ends with exit code 2 and one line on stderr naming the setting, its value
// (password hidden) and the cause; the stack only with LOG_LEVEL=debug.
import { type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { removeDir, tempDir } from '../../helpers/files.js';
import { closedPort } from '../../helpers/ports.js';
import { ROOT } from '../../helpers/server.js';
import { serverBundle } from '../../helpers/server-bundle.js';
import { TEST_JWT_SECRET } from '../../helpers/tokens.js';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function start(env: Record<string, string>, options: SpawnOptions = {}): Promise<Outcome> {
  const child = spawn(process.execPath, [await serverBundle()], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Asserts exit code 2 and exactly one line on stderr; returns that line. */
function oneLine(outcome: Outcome): string {
  expect(outcome.code, outcome.stderr).to.equal(2);
  const lines = outcome.stderr.trimEnd().split('\n');
  expect(lines, 'one line, no stack').to.have.length(1);
  return lines[0] ?? '';
}

describe('start-up failures', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('upload-startup-');
  });
  after(async () => {
    await chmod(dir, 0o755).catch(() => {});
    await removeDir(dir);
  });

  it('a database that refuses the connection: DATABASE_URL with the password hidden, exit 2', async () => {
    const port = await closedPort();
    const outcome = await start({
      DATA_DIR: path.join(dir, 'refused'),
      DATABASE_URL: `postgres://upload:s3cret-pw@127.0.0.1:${port}/uploads`,
    });
    expect(oneLine(outcome)).to.equal(
      `upload-server: cannot start: DATABASE_URL=postgres://upload:****@127.0.0.1:${port}/uploads: ` +
        `connection refused: nothing listens on 127.0.0.1:${port} (is PostgreSQL running?)`,
    );
    expect(outcome.stdout + outcome.stderr).to.not.include('s3cret-pw');
  });

  it('an unknown database host, exit 2', async () => {
    const outcome = await start({
      DATA_DIR: path.join(dir, 'unknown-host'),
      DATABASE_URL: 'postgres://upload@no-such-host.invalid:5432/uploads',
    });
    expect(oneLine(outcome)).to.equal(
      'upload-server: cannot start: DATABASE_URL=postgres://upload@no-such-host.invalid:5432/uploads: ' +
        'unknown host no-such-host.invalid',
    );
  });

  it('a database that does not exist, exit 2 (PostgreSQL)', async function () {
    const url = process.env.DATABASE_URL;
    if (!url) this.skip();
    const missing = new URL(url ?? '');
    missing.pathname = '/upload_no_such_database';
    const outcome = await start({ DATA_DIR: path.join(dir, 'missing-db'), DATABASE_URL: missing.toString() });
    expect(oneLine(outcome)).to.match(
      /^upload-server: cannot start: DATABASE_URL=postgres:\/\/\S+\/upload_no_such_database: database "upload_no_such_database" does not exist \(create it first/,
    );
  });

  it('a port already in use: PORT and the address, exit 2; the stack with LOG_LEVEL=debug', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as net.AddressInfo;
    try {
      const env = {
        DATA_DIR: path.join(dir, 'port'),
        PORT: String(port),
        ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      };
      const outcome = await start(env);
      expect(oneLine(outcome)).to.equal(
        `upload-server: cannot start: PORT=${port}: 127.0.0.1:${port} is already in use ` +
          '(another server running? choose another PORT)',
      );
      const debug = await start({ ...env, LOG_LEVEL: 'debug' });
      expect(debug.code).to.equal(2);
      expect(debug.stderr.split('\n')[0]).to.include(`PORT=${port}: 127.0.0.1:${port} is already in use`);
      expect(debug.stderr, 'the stack').to.match(/EADDRINUSE[\s\S]*\n\s+at /);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('a DATA_DIR that is a file, or lies under one, exit 2', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    expect(oneLine(await start({ DATA_DIR: file }))).to.equal(
      `upload-server: cannot start: DATA_DIR=${file}: it is a file, not a directory`,
    );
    expect(oneLine(await start({ DATA_DIR: path.join(file, 'data') }))).to.equal(
      `upload-server: cannot start: DATA_DIR=${path.join(file, 'data')}: a part of the path is a file, not a directory`,
    );
  });

  it('a DATA_DIR the user cannot write in, exit 2', async () => {
    const readOnly = path.join(dir, 'read-only');
    await mkdir(readOnly);
    await chmod(dir, 0o755);
    await chmod(readOnly, 0o555);
    // root writes anywhere: run the server as nobody then, as a service user would run it
    const asRoot = process.getuid?.() === 0;
    const options: SpawnOptions = asRoot ? { uid: 65534, gid: 65534 } : {};
    const uid = asRoot ? 65534 : process.getuid?.();
    const outcome = await start({ DATA_DIR: readOnly, HOME: dir }, options);
    expect(oneLine(outcome)).to.equal(
      `upload-server: cannot start: DATA_DIR=${readOnly}: not writable by this user (uid ${uid})`,
    );
  });
});
