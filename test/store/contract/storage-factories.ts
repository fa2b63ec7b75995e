// Every ChunkStorage implementation the contract suites run against. A new implementation adds
// one factory here (skipped when its backend is not configured for this run: S3 needs S3_ENDPOINT).

import { StorageUploadRepository } from '../../../db/storage-upload-repository.js';
import type { ChunkStorage } from '../../../store/storage/chunk-storage.js';
import { FileChunkStorage } from '../../../store/storage/file-storage.js';
import { StorageLayout } from '../../../store/storage/layout.js';
import { S3ChunkStorage } from '../../../store/storage/s3-storage.js';
import { emptyPrefix, s3ClientFor, s3TestSettings, s3Unavailable } from '../../helpers/s3.js';
import { sharedDatabase } from '../../helpers/server.js';

export interface StorageFactory {
  name: string;
  /** Why this implementation cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  /** A storage of its own, rooted in `dataDir` (a fresh temporary directory). */
  make(dataDir: string): Promise<ChunkStorage>;
  /** Removes what the storage left outside `dataDir` (an S3 prefix). */
  cleanup?(storage: ChunkStorage): Promise<void>;
}

export const STORAGE_FACTORIES: StorageFactory[] = [
  {
    name: 'file',
    unavailable: () => undefined,
    async make(dataDir) {
      const layout = new StorageLayout(dataDir);
      await layout.init();
      return new FileChunkStorage(layout);
    },
  },
  {
    name: 's3',
    unavailable: s3Unavailable,
    async make(dataDir) {
      const settings = s3TestSettings(dataDir);
      const database = await sharedDatabase();
      await database.migrate();
      return new S3ChunkStorage(await s3ClientFor(settings), settings, new StorageUploadRepository(database.db));
    },
    async cleanup(storage) {
      if (storage instanceof S3ChunkStorage) await emptyPrefix(storage.settings);
    },
  },
];

/** All bytes of `source`. */
export async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}
