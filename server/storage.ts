// The storage side of a server, built from the configuration: data directory layout, database
// (opened unless given, and migrated), repositories, upload locks and the upload service. Shared by
// the server and the one-shot commands (cleanup).
import { AssetRepository } from '../db/asset-repository.js';
import { type Database, openDatabase } from '../db/client.js';
import { SessionRepository } from '../db/session-repository.js';
import { MemoryLocker } from '../store/lock/memory-locker.js';
import { PgLocker } from '../store/lock/pg-locker.js';
import type { UploadLocker } from '../store/lock/upload-locker.js';
import { FileChunkStorage } from '../store/storage/file-storage.js';
import { StorageLayout } from '../store/storage/layout.js';
import { UploadPolicy } from '../store/upload-policy.js';
import { UploadService } from '../store/upload-service.js';
import type { Config } from './config.js';

export interface Storage {
  layout: StorageLayout;
  database: Database;
  sessions: SessionRepository;
  assets: AssetRepository;
  locker: UploadLocker;
  service: UploadService;
}

export function databaseOptionsFor(config: Config) {
  return config.databaseUrl
    ? ({ kind: 'postgres', url: config.databaseUrl } as const)
    : ({ kind: 'pglite', dataDir: `${config.dataDir}/pglite` } as const);
}

export async function openStorage(config: Config, database?: Database): Promise<Storage> {
  const layout = new StorageLayout(config.dataDir);
  await layout.init();
  const db = database ?? (await openDatabase(databaseOptionsFor(config)));
  await db.migrate();
  const sessions = new SessionRepository(db.db);
  const assets = new AssetRepository(db.db);
  // with a shared database several instances may serve one upload: lock in PostgreSQL
  const locker = config.databaseUrl
    ? new PgLocker({ url: config.databaseUrl, acquireTimeoutMs: config.lockTimeoutMs })
    : new MemoryLocker(config.lockTimeoutMs);
  const service = new UploadService({
    storage: new FileChunkStorage(layout),
    sessions,
    assets,
    locker,
    policy: new UploadPolicy(config),
    defaultChunkSize: config.chunkSize,
    sessionTtlMs: config.sessionTtlMs,
  });
  return { layout, database: db, sessions, assets, locker, service };
}
