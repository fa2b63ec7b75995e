// File-level helpers shared by the store's write paths: opening an upload's data file, getting
// the running hash state at its offset (from memory, or read back from disk), deleting it, and
// mapping file system failures onto the error table.
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { UploadSession } from '../db/schema.js';
import { UploadError } from './errors.js';
import { isNotFound } from './finalize.js';
import type { HashStates, UploadHasher } from './hash-state.js';
import type { StorageLayout } from './layout.js';

export class UploadFiles {
  constructor(
    private readonly layout: StorageLayout,
    readonly hashes: HashStates,
  ) {}

  async open(session: UploadSession): Promise<FileHandle> {
    const file = this.layout.uploadPath(session.id);
    try {
      return await open(file, 'r+');
    } catch (error) {
      // an empty upload's file may be recreated; one that held acknowledged bytes may not
      if (!isNotFound(error) || session.uploadOffset > 0) throw storageError(error);
      return open(file, 'w+');
    }
  }

  /** The upload's running hashes at its offset: this process's, or rebuilt from the data file. */
  hasherAt(session: UploadSession): Promise<UploadHasher> {
    return this.hashes.hasherAt(
      session.id,
      this.layout.uploadPath(session.id),
      session.uploadOffset,
      session.chunkSize,
    );
  }

  async remove(id: string): Promise<void> {
    this.hashes.forget(id);
    try {
      await unlink(this.layout.uploadPath(id));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** Maps file system failures onto the error table; other errors pass through unchanged. */
export function storageError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UploadError(
      'insufficient_storage',
      'the server is out of disk space; retry later, the upload keeps every byte it acknowledged',
    );
  }
  return error;
}
