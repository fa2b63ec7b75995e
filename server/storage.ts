// The storage side of a server, built from the configuration: data directory layout, database
// (opened unless given, and migrated), repositories and the ChunkStore. Shared by the server and
// the one-shot commands (cleanup).
import { AssetRepository } from '../db/asset-repository.js';
import { type Database, openDatabase } from '../db/client.js';
import { SessionRepository } from '../db/session-repository.js';
import { ChunkStore } from '../store/chunk-store.js';
import { StorageLayout } from '../store/layout.js';
import type { Config } from './config.js';

export interface Storage {
  layout: StorageLayout;
  database: Database;
  sessions: SessionRepository;
  assets: AssetRepository;
  store: ChunkStore;
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
  const store = new ChunkStore({
    layout,
    sessions,
    assets,
    defaultChunkSize: config.chunkSize,
    sessionTtlMs: config.sessionTtlMs,
  });
  return { layout, database: db, sessions, assets, store };
}
