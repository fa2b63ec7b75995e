// Builds and starts one server from a Config: storage, database (migrated), crash repair, the
// express app, the cleanup schedule; returns a handle to stop it gracefully.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { schedule } from 'node-cron';
import { AssetRepository } from '../db/asset-repository.js';
import { type Database, openDatabase } from '../db/client.js';
import { SessionRepository } from '../db/session-repository.js';
import { ChunkStore } from '../store/chunk-store.js';
import { StorageLayout } from '../store/layout.js';
import { recoverUploads } from '../store/recovery.js';
import { createApp } from './app.js';
import { createVerifier } from './auth.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { resolveVerifyKey } from './tokens.js';

export interface StartOptions {
  /** Use this database instead of opening one from the config; it is not closed on stop. */
  database?: Database;
  log?: Logger;
}

export interface RunningServer {
  url: string;
  port: number;
  config: Config;
  database: Database;
  store: ChunkStore;
  sessions: SessionRepository;
  assets: AssetRepository;
  log: Logger;
  /** Stops accepting, lets in-flight requests finish (bounded by shutdownGraceMs), closes the database. */
  close(): Promise<void>;
}

export function databaseOptionsFor(config: Config) {
  return config.databaseUrl
    ? ({ kind: 'postgres', url: config.databaseUrl } as const)
    : ({ kind: 'pglite', dataDir: `${config.dataDir}/pglite` } as const);
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.logLevel);
  if (config.chunkSizeClampedFrom !== undefined) {
    log.warn({ asked: config.chunkSizeClampedFrom, using: config.chunkSize }, 'CHUNK_SIZE clamped to [5 MiB, 20 MiB]');
  }
  const layout = new StorageLayout(config.dataDir);
  await layout.init();
  const database = options.database ?? (await openDatabase(databaseOptionsFor(config)));
  await database.migrate();

  const sessions = new SessionRepository(database.db);
  const assets = new AssetRepository(database.db);
  const store = new ChunkStore({
    layout,
    sessions,
    assets,
    defaultChunkSize: config.chunkSize,
    sessionTtlMs: config.sessionTtlMs,
  });
  const repaired = await recoverUploads(store, sessions, layout, log);
  if (repaired.finalized + repaired.failed + repaired.reset > 0) log.warn(repaired, 'repaired uploads after a restart');

  const verifier = createVerifier(await resolveVerifyKey(config.auth, config.dataDir), config.jwt);
  const app = createApp({ config, log, database, layout, sessions, assets, store, verifier });
  const server = http.createServer(
    // long uploads must not be cut by Node's default 5-minute request timeout
    { requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 },
    app,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;

  const cleanup = schedule(config.cleanupCron, async () => {
    try {
      const started = Date.now();
      const expired = await store.deleteExpired();
      log.info({ expired, ms: Date.now() - started }, 'cleanup sweep');
    } catch (error) {
      log.error({ err: error }, 'cleanup sweep failed');
    }
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await cleanup.stop();
      await stopHttp(server, config.shutdownGraceMs);
      if (!options.database) await database.close();
    })();
    return closing;
  };
  return { url: `http://${host}:${port}`, port, config, database, store, sessions, assets, log, close };
}

async function stopHttp(server: http.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
