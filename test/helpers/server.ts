// Real servers for tests: in-process on an ephemeral port (sharing one database per test process),
// or as a child process running `npm start`'s entry point, for crash and restart tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Database, openDatabase } from '../../db/client.js';
import { loadConfig } from '../../server/config/config.js';
import { type RunningServer, startServer } from '../../server/start.js';
import { removeDir, tempDir } from './files.js';
import { serverBundle } from './server-bundle.js';
import { TEST_JWT_SECRET } from './tokens.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let shared: Promise<{ database: Database; dir: string | undefined }> | undefined;

/** One database for all in-process servers of this test run: PostgreSQL if DATABASE_URL is set. */
export function sharedDatabase(): Promise<Database> {
  shared ??= (async () => {
    const url = process.env.DATABASE_URL;
    if (url) {
      // migrated here too: a test file run alone may use it before any server has started
      const database = await openDatabase({ kind: 'postgres', url });
      await database.migrate();
      return { database, dir: undefined };
    }
    const dir = await tempDir('upload-test-pglite-');
    // a directory of its own around it, so its lock file (beside it) stays inside the temporary dir
    const database = await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'pglite') });
    await database.migrate();
    return { database, dir };
  })();
  return shared.then((s) => s.database);
}

export interface TestServer extends RunningServer {
  dataDir: string;
  tusUrl: string;
  /** Stops the server and deletes its DATA_DIR. */
  stop(): Promise<void>;
}

/** Starts a server on 127.0.0.1:0 with its own temporary DATA_DIR. `env` overrides the defaults. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServerAt(await tempDir('upload-test-data-'), env);
}

/** Like startTestServer, with a DATA_DIR chosen by the caller; stop() deletes it too. */
export async function startTestServerAt(dataDir: string, env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // per-owner limits count every test's sessions in the shared database: off unless a test sets them
    UPLOADS_PER_HOUR: '0',
    MAX_ACTIVE_SESSIONS: '0',
    ...env,
  });
  const server = await startServer(config, { database: await sharedDatabase() });
  return {
    ...server,
    dataDir,
    tusUrl: `${server.url}${config.tusPath}`,
    async stop() {
      await server.close();
      await removeDir(dataDir);
    },
  };
}

/**
 * A server that opens the database its configuration names, as `npm start` does (the embedded one
 * under DATA_DIR unless `env` sets DATABASE_URL; the test run's DATABASE_URL is not used), so
 * DATA_DIR's binding to that database is checked. close() leaves DATA_DIR in place.
 */
export async function startConfiguredServer(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<RunningServer & { tusUrl: string }> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    UPLOADS_PER_HOUR: '0',
    MAX_ACTIVE_SESSIONS: '0',
    ...env,
  });
  const server = await startServer(config);
  return Object.assign(server, { tusUrl: `${server.url}${config.tusPath}` });
}

export interface ChildServer {
  url: string;
  tusUrl: string;
  process: ChildProcess;
  /** Sends a signal and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Runs the server as `npm start` does (the compiled bundle, server-bundle.ts) in a child process
 * with the given DATA_DIR (and DATABASE_URL if the test run has one), resolving once it logs that
 * it listens.
 */
export async function startChildServer(dataDir: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const child = spawn(process.execPath, [await serverBundle()], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s: ${stderr.join('')}`)), 60_000);
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'upload server listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${stderr.join('')}`));
    });
  });
  return {
    url,
    tusUrl: `${url}/files`,
    process: child,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
