// The storage side of a server, built from the configuration: data directory layout, database
// (opened unless given, and migrated), repositories, upload locks and the upload service. Shared by
// the server and the one-shot commands (cleanup).
//
// A database opened here from the configuration is checked against DATA_DIR's identity (and bound
// to it at the first start): that pairing, DATA_DIR with DATABASE_URL, is what an operator can get
// wrong. A database handed in by the caller (an embedding application, the test run's one shared
// database serving many temporary DATA_DIRs) is the caller's pairing and is not checked.
import { AssetRepository } from '../db/asset-repository.js';
import { type Database, databaseLabel, openDatabase } from '../db/client.js';
import { SessionRepository } from '../db/session-repository.js';
import { StorageUploadRepository } from '../db/storage-upload-repository.js';
import { MemoryLocker } from '../store/lock/memory-locker.js';
import { PgLocker } from '../store/lock/pg-locker.js';
import type { UploadLocker } from '../store/lock/upload-locker.js';
import type { ChunkStorage } from '../store/storage/chunk-storage.js';
import { type Binding, bindDataDir, embeddedDatabaseDir, refuseNewEmbedded } from '../store/storage/data-binding.js';
import { FileChunkStorage } from '../store/storage/file-storage.js';
import { StorageLayout } from '../store/storage/layout.js';
import { makeS3Client } from '../store/storage/s3-settings.js';
import { S3ChunkStorage } from '../store/storage/s3-storage.js';
import { UploadPolicy } from '../store/upload-policy.js';
import { UploadService } from '../store/upload-service.js';
import type { Config } from './config/config.js';

export interface Storage {
  layout: StorageLayout;
  database: Database;
  sessions: SessionRepository;
  assets: AssetRepository;
  locker: UploadLocker;
  service: UploadService;
  /** How DATA_DIR and the database were found to belong together; undefined for a database handed in. */
  binding: Binding | undefined;
}

export function databaseOptionsFor(config: Config) {
  return config.databaseUrl
    ? ({ kind: 'postgres', url: config.databaseUrl } as const)
    : ({ kind: 'pglite', dataDir: embeddedDatabaseDir(config.dataDir) } as const);
}

/** The byte storage the configuration names: files under DATA_DIR, or S3. */
function chunkStorageFor(config: Config, layout: StorageLayout, db: Database): ChunkStorage {
  if (config.storage.kind === 'file') return new FileChunkStorage(layout);
  const settings = config.storage;
  return new S3ChunkStorage(makeS3Client(settings), settings, new StorageUploadRepository(db.db));
}

export async function openStorage(config: Config, database?: Database): Promise<Storage> {
  const layout = new StorageLayout(config.dataDir);
  const options = databaseOptionsFor(config);
  if (!database && options.kind === 'pglite') await refuseNewEmbedded(config.dataDir, databaseLabel(options));
  const db = database ?? (await openDatabase(options));
  let binding: Binding | undefined;
  try {
    await db.migrate();
    if (!database) binding = await bindDataDir(config.dataDir, db);
  } catch (error) {
    if (!database) await db.close();
    throw error;
  }
  await layout.init();
  const sessions = new SessionRepository(db.db, db.reads);
  const assets = new AssetRepository(db.db);
  // with a shared database several instances may serve one upload: lock in PostgreSQL
  const locker = config.databaseUrl
    ? new PgLocker({ url: config.databaseUrl, acquireTimeoutMs: config.lockTimeoutMs })
    : new MemoryLocker(config.lockTimeoutMs);
  const service = new UploadService({
    storage: chunkStorageFor(config, layout, db),
    sessions,
    assets,
    locker,
    policy: new UploadPolicy(config),
    defaultChunkSize: config.chunkSize,
    sessionTtlMs: config.sessionTtlMs,
  });
  return { layout, database: db, sessions, assets, locker, service, binding };
}
