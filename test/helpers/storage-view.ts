// The database and files of a DATA_DIR served by a child process, opened from the test: the shared
// PostgreSQL database when DATABASE_URL is set, else the embedded database under DATA_DIR (only
// while no server process has it open).
import path from 'node:path';
import { AssetRepository } from '../../db/asset-repository.js';
import { openDatabase } from '../../db/client.js';
import { SessionRepository } from '../../db/session-repository.js';
import { sharedDatabase } from './server.js';
import type { StorageView } from './uploads.js';

export interface OpenStorageView extends StorageView {
  /** Closes the embedded database if this opened one; the shared one stays open. */
  close(): Promise<void>;
}

export async function openStorageView(dataDir: string): Promise<OpenStorageView> {
  const own = process.env.DATABASE_URL
    ? undefined
    : await openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'pglite') });
  const database = own ?? (await sharedDatabase());
  if (own) await own.migrate();
  return {
    dataDir,
    sessions: new SessionRepository(database.db),
    assets: new AssetRepository(database.db),
    close: async () => {
      await own?.close();
    },
  };
}

/** Runs `fn` with the storage view of `dataDir`, closing it afterwards. */
export async function withStorageView<T>(dataDir: string, fn: (view: StorageView) => Promise<T>): Promise<T> {
  const view = await openStorageView(dataDir);
  try {
    return await fn(view);
  } finally {
    await view.close();
  }
}
