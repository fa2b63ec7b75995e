// Running sha256 state of uploads in this process, so hashing happens once, while bytes arrive,
// across any number of PATCH requests. Node cannot serialise a hash, so after a restart (or on
// another instance) the state is rebuilt from the bytes on disk instead; see ChunkStore.
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

export interface UploadHashes {
  /** Offset up to which both hashes have consumed bytes. */
  offset: number;
  /** Bytes of the current, unfinished chunk. */
  chunk: Hash;
  /** Every byte from 0, or null when this process did not see them all. */
  file: Hash | null;
}

export class HashStates {
  private readonly states = new Map<string, UploadHashes>();

  constructor(private readonly maxEntries = 10_000) {}

  /** Takes the state for an upload if it is exactly at `offset`; the caller owns it until put. */
  take(id: string, offset: number): UploadHashes | undefined {
    const state = this.states.get(id);
    this.states.delete(id);
    return state && state.offset === offset ? state : undefined;
  }

  put(id: string, state: UploadHashes): void {
    this.states.delete(id);
    this.states.set(id, state);
    if (this.states.size > this.maxEntries) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.states.delete(oldest);
    }
  }

  /** Whole-file digest if this process hashed every byte up to `offset`. */
  fileDigest(id: string, offset: number): string | undefined {
    const state = this.states.get(id);
    if (!state?.file || state.offset !== offset) return undefined;
    return state.file.copy().digest('hex');
  }

  forget(id: string): void {
    this.states.delete(id);
  }
}

const READ_BLOCK = 1024 * 1024;

/** Feeds bytes [start, end) of a file into one or more hashes. */
export async function hashRange(file: FileHandle, start: number, end: number, hashes: Hash[]): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(READ_BLOCK, Math.max(1, end - start)));
  let position = start;
  while (position < end) {
    const want = Math.min(buffer.length, end - position);
    const { bytesRead } = await file.read(buffer, 0, want, position);
    if (bytesRead === 0) throw new Error(`data file ends at ${position}, expected ${end}`);
    for (const hash of hashes) hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

export function sha256(): Hash {
  return createHash('sha256');
}
