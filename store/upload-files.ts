// File-level helpers shared by the store's write paths: opening an upload's data file, getting
// the running hash state at its offset (from memory, or read back from disk), deleting it, and
// mapping file system failures onto the error table.
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { UploadSession } from '../db/schema.js';
import { chunkStart } from './chunking.js';
import { UploadError } from './errors.js';
import { isNotFound } from './finalize.js';
import { type HashStates, hashRange, sha256, type UploadHashes } from './hash-state.js';
import type { StorageLayout } from './layout.js';

// Below this offset a lost whole-file hash is rebuilt while resuming; above it, at finalising.
const REHASH_ON_RESUME_LIMIT = 64 * 1024 * 1024;

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

  /** Hash state at the session's offset: this process's, or read back from the bytes on disk. */
  async hashesAt(file: FileHandle, session: UploadSession): Promise<UploadHashes> {
    const offset = session.uploadOffset;
    const cached = this.hashes.take(session.id, offset);
    if (cached) return cached;
    const start = chunkStart(Math.floor(offset / session.chunkSize) + 1, session.chunkSize);
    const chunk = sha256();
    if (offset <= REHASH_ON_RESUME_LIMIT) {
      const whole = sha256();
      await hashRange(file, 0, start, [whole]);
      await hashRange(file, start, offset, [whole, chunk]);
      return { offset, chunk, file: whole };
    }
    await hashRange(file, start, offset, [chunk]);
    return { offset, chunk, file: null };
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
