// Builds and starts one server from a Config: storage, database (migrated), crash repair, the
// express app, the cleanup schedule; returns a handle to stop it gracefully.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Database } from '../db/client.js';
import type { SessionRepository } from '../db/session-repository.js';
import { recoverUploads } from '../store/repair/recovery.js';
import type { Binding } from '../store/storage/data-binding.js';
import type { UploadService } from '../store/upload-service.js';
import { createApp } from './app.js';
import type { Config } from './config/config.js';
import type { UploadHooks } from './events/hooks.js';
import { type Operations, startOperations } from './events/operations.js';
import { createVerifier } from './http/auth.js';
import { isLoopbackHost } from './http/loopback.js';
import { resolveVerifyKey } from './http/tokens.js';
import { type CleanupDeps, type CleanupReport, runCleanup, scheduleCleanup } from './ops/cleanup.js';
import { loadHeapTrim } from './ops/heap-trim.js';
import { releaseMemoryWhenIdle } from './ops/idle-memory.js';
import { moduleLogger } from './ops/log-levels.js';
import { createLogger, type Logger } from './ops/logger.js';
import { Metrics } from './ops/metrics.js';
import { checkDataDir, databaseFailure, listenFailure } from './ops/startup-failure.js';
import { openStorage } from './storage.js';

export interface StartOptions {
  /** Use this database instead of opening one from the config; it is not closed on stop. */
  database?: Database;
  log?: Logger;
  /** In-process callbacks on upload events, for applications embedding the server. */
  hooks?: UploadHooks;
  /** false: build everything but do not listen; mount `app` in another server instead. */
  listen?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  config: Config;
  database: Database;
  service: UploadService;
  sessions: SessionRepository;
  assets: AssetRepository;
  log: Logger;
  /** The express app, to mount in another server when started with `listen: false`. */
  app: Express;
  /** Live progress, webhooks and hooks of this server. */
  operations: Operations;
  /** Stops accepting, lets in-flight requests finish (bounded by shutdownGraceMs), closes the database. */
  close(): Promise<void>;
  /** Runs one cleanup sweep now (undefined when another instance holds the cleanup lease). */
  cleanup(): Promise<CleanupReport | undefined>;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.logLevel, { modules: config.logModules, format: config.logFormat });
  warnAboutSettings(config, log);
  const { layout, database, sessions, assets, locker, service, binding } = await openChecked(config, options.database);
  logBinding(log, binding, config.dataDir, database.label);
  // before crash repair, so uploads it finishes are announced too
  const operations = await startOperations({ config, database, service, log, hooks: options.hooks });
  const repaired = await recoverUploads(service, sessions, service.storage, moduleLogger(log, 'recovery'));
  if (repaired.finalized + repaired.failed + repaired.reset > 0) log.warn(repaired, 'repaired uploads after a restart');

  const verifier = createVerifier(await resolveVerifyKey(config.auth, config.dataDir), config.jwt);
  const metrics = new Metrics(sessions, service.events, config.tusPath, service.storage);
  const embedded = options.listen === false;
  const app = createApp({
    config,
    log,
    database,
    layout,
    sessions,
    assets,
    service,
    verifier,
    metrics,
    feed: operations.feed,
    embedded,
  });
  const server = createHttpServer(config, app);
  const release = async () => {
    await operations.close();
    await locker.close();
    await service.hashes.close();
    if (!options.database) await database.close();
  };
  if (!embedded) await listen(server, config, release);

  const cleanupDeps = cleanupDepsOf(config, { database, service, sessions, assets, layout }, log, metrics, operations);
  const cleanup = scheduleCleanup(config.cleanupCron, cleanupDeps);
  // a server of its own gives memory back when idle; embedded in another app, the host decides
  const stopReleasing = embedded
    ? undefined
    : releaseMemoryWhenIdle(service.writes, log, {
        trimHeap: await loadHeapTrim(log),
        onRelease: () => metrics.observeIdleRelease(),
      });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await cleanup.stop();
      stopReleasing?.();
      operations.endStreams();
      await stopHttp(server, service, config.shutdownGraceMs);
      await release();
    })();
    return closing;
  };
  const port = embedded ? 0 : (server.address() as AddressInfo).port;
  const url = embedded ? '' : `http://${reachableHost(config.host)}:${port}`;
  return {
    url,
    port,
    config,
    database,
    service,
    sessions,
    assets,
    log,
    app,
    operations,
    close,
    cleanup: () => runCleanup(cleanupDeps),
  };
}

function cleanupDepsOf(
  config: Config,
  stores: Pick<CleanupDeps, 'database' | 'service' | 'sessions' | 'assets' | 'layout'>,
  log: Logger,
  metrics: Metrics,
  operations: Operations,
): CleanupDeps {
  return {
    ...stores,
    log: moduleLogger(log, 'cleanup'),
    orphanGraceMs: config.orphanGraceMs,
    quarantineRetentionMs: config.quarantineRetentionMs,
    onReport: (report: CleanupReport) => metrics.observeCleanup(report),
    prune: () => operations.prune(),
  };
}

function warnAboutSettings(config: Config, log: Logger): void {
  if (config.chunkSizeClampedFrom !== undefined) {
    log.warn({ asked: config.chunkSizeClampedFrom, using: config.chunkSize }, 'CHUNK_SIZE clamped to [5 MiB, 20 MiB]');
  }
  if (!config.metricsToken && !isLoopbackHost(config.host)) {
    log.warn({ host: config.host }, 'METRICS_TOKEN is not set and HOST is not loopback: GET /metrics answers 403');
  }
}

function createHttpServer(config: Config, app: Express): http.Server {
  // long uploads must not be cut by Node's default 5-minute request timeout
  const server = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, app);
  // a client that stops sending mid-body (or never reads its answer) is cut off; what it sent is kept
  server.setTimeout(config.idleTimeoutMs);
  return server;
}

/** A wildcard listen address is reached on loopback. */
function reachableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function logBinding(log: Logger, binding: Binding | undefined, dataDir: string, database: string): void {
  if (!binding || binding.outcome === 'verified') return;
  const what = {
    bound: 'bound DATA_DIR and the database to a new identity (first start)',
    adopted: 'DATA_DIR (empty) joined the database: its identity written into DATA_DIR',
    restored: 'DATA_DIR/identity.json was missing: rewritten from the embedded database',
  }[binding.outcome];
  log.info({ data_dir: dataDir, database, identity: binding.identity }, what);
}

/** The storage, after checking DATA_DIR; a database that cannot be opened is named as a setting. */
async function openChecked(config: Config, database: Database | undefined) {
  await checkDataDir(config.dataDir);
  try {
    return await openStorage(config, database);
  } catch (error) {
    throw databaseFailure(config, error) ?? error;
  }
}

/** Listens on HOST:PORT; if that fails, lets go of what was opened (`release`) and says why. */
async function listen(server: http.Server, config: Config, release: () => Promise<void>): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (error) {
    await release();
    throw listenFailure(config, error) ?? error;
  }
}

/**
 * Graceful stop: no new connections; writes in progress stop at their next block and commit a
 * durable offset (their clients get the offset and resume elsewhere); other requests get
 * `graceMs` to finish before their connections are closed; then the last writes settle.
 */
async function stopHttp(server: http.Server, service: UploadService, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  service.writes.stopWriting();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
  await service.writes.idle(graceMs);
}
