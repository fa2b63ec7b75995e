// Streams a request body into an upload's data file at a given offset. Bytes are gathered into a
// bounded buffer, written positionally, then hashed on the hashing thread while the next block
// arrives; at each chunk boundary the file is fdatasync'ed and only then is the chunk recorded with
// its sha256. The sync of chunk n overlaps with receiving chunk n+1. Memory per upload stays at a
// few write buffers. With an expected
// checksum (tus checksum extension) nothing is recorded until the whole body has been verified.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ChunkDigests } from '../db/schema.js';
import { checksumMismatch, createChecksummer, type ExpectedChecksum } from './checksum.js';
import { UploadError } from './errors.js';
import type { UploadHasher } from './hash-state.js';
import { writeAllAt } from './positional-write.js';

export interface ChunkWrite {
  file: FileHandle;
  chunkSize: number;
  /** Upload length, when known: no byte past it is written. */
  length: number | undefined;
  start: number;
  /** The upload's running hashes, exactly at `start`. */
  hasher: UploadHasher;
  bufferSize: number;
  /** Chunks already recorded for this upload (to avoid recording one twice). */
  recorded: Readonly<ChunkDigests>;
  /** Persists progress; called only once the bytes up to `offset` are durable. */
  record(offset: number, chunks: ChunkDigests): Promise<void>;
  /** Upload-Checksum of this body: on a mismatch none of its bytes are recorded. */
  checksum?: ExpectedChecksum | undefined;
  /** When aborted (server shutting down), stop reading and commit what has arrived. */
  stop?: AbortSignal | undefined;
}

/** A completed chunk and its digest, still being computed on the hashing thread. */
type PendingChunk = [number, Promise<string>];

export async function writeChunks(source: Readable, w: ChunkWrite): Promise<number> {
  const { file, chunkSize, length, hasher } = w;
  let position = w.start;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let writePosition = w.start;
  let lastWrite: Promise<unknown> = Promise.resolve();
  let durable: Promise<void> = Promise.resolve();
  let durableOffset = w.start;
  let scheduledOffset = w.start;
  const completed = new Set<number>();
  const checksummer = w.checksum ? createChecksummer(w.checksum.algorithm) : undefined;
  const deferred: PendingChunk[] = [];
  // hash acknowledgements not yet awaited: bounds the blocks held for the hashing thread
  const hashing: Promise<unknown>[] = [];

  const flush = async () => {
    await lastWrite;
    if (pendingBytes === 0) return;
    // one block we own: written, then handed to the hashing thread (which takes it over)
    const block = Buffer.concat(pending, pendingBytes);
    const at = writePosition;
    writePosition += pendingBytes;
    pending = [];
    pendingBytes = 0;
    lastWrite = writeAllAt(file, [block], at).then(() => {
      const ack = hasher.update(block);
      ack.catch(() => {});
      hashing.push(ack);
    });
    // awaited later (next flush, the sync, or the catch below); until then a failure such as
    // ENOSPC must not count as an unhandled rejection, which would end the process
    lastWrite.catch(() => {});
    while (hashing.length > 2) await hashing.shift();
  };

  const makeDurable = async (offset: number, chunks: readonly PendingChunk[]) => {
    // at most one sync outstanding: wait for the previous one before queueing the next
    await durable;
    scheduledOffset = offset;
    const written = lastWrite;
    durable = (async () => {
      await written;
      await file.datasync();
      const digests: ChunkDigests = {};
      for (const [number, digest] of chunks) digests[number] = await digest;
      await w.record(offset, digests);
      durableOffset = offset;
    })();
    // keep an unobserved rejection from crashing the process; it is awaited below
    durable.catch(() => {});
  };

  const completeChunk = async () => {
    const number = Math.ceil(position / chunkSize);
    completed.add(number);
    await flush();
    // asked for once the chunk's last block has gone to the hashing thread, so it covers it
    const digest = lastWrite.then(() => hasher.chunkDigest());
    digest.catch(() => {});
    const chunks: PendingChunk[] = String(number) in w.recorded ? [] : [[number, digest]];
    if (checksummer) deferred.push(...chunks);
    else await makeDurable(position, chunks);
  };

  // The caller's stream pipeline owns the source: leaving the loop early must not destroy it, or
  // the pipeline fails with an AbortError before the progress is committed or the real error seen.
  const body = typeof source.iterator === 'function' ? source.iterator({ destroyOnReturn: false }) : source;
  let stopped = false;
  try {
    for await (const data of body as AsyncIterable<Buffer>) {
      checksummer?.update(data);
      let rest = data;
      while (rest.length > 0) {
        const boundary = (Math.floor(position / chunkSize) + 1) * chunkSize;
        const limit = length === undefined ? boundary : Math.min(boundary, length);
        if (limit <= position) throw new Error(`write past the upload length ${length}`);
        const piece = rest.length <= limit - position ? rest : rest.subarray(0, limit - position);
        rest = rest.subarray(piece.length);
        pending.push(piece);
        pendingBytes += piece.length;
        position += piece.length;
        // the chunk that ends the upload is recorded only once the body has ended: a body that
        // runs on past the length is refused whole and must not leave the upload looking complete
        if (position === limit && limit !== length) await completeChunk();
        else if (pendingBytes >= w.bufferSize) await flush();
      }
      if (w.stop?.aborted) {
        stopped = true;
        break;
      }
    }
    if (stopped && position !== length) {
      // the server is stopping mid-body: keep what arrived (a body with a checksum only counts
      // whole), then send the client to resume from the durable offset
      if (!checksummer && position > scheduledOffset) {
        await flush();
        await makeDurable(position, []);
      }
      await lastWrite;
      await durable;
      throw new UploadError(
        'unavailable',
        `the server is shutting down; the upload is stored up to byte ${durableOffset}, resume from there`,
      );
    }
    // A final partial chunk completes when the length is reached, even if it was declared late
    // (creation-defer-length) and this request carried no bytes at all.
    const last = length ? Math.ceil(length / chunkSize) : 0;
    if (position === length && last > 0 && !(String(last) in w.recorded) && !completed.has(last)) {
      await completeChunk();
    }
    if (checksummer && w.checksum) {
      if (!checksummer.digest().equals(w.checksum.digest)) throw checksumMismatch(w.checksum.algorithm);
      if (position > w.start || deferred.length > 0) {
        await flush();
        await makeDurable(position, deferred);
      }
    } else if (position > scheduledOffset) {
      await flush();
      await makeDurable(position, []);
    }
    await durable;
    await Promise.all(hashing);
    return durableOffset;
  } catch (error) {
    // Leave the file and row consistent: whatever was recorded stays, the rest is dropped.
    await lastWrite.catch(() => {});
    await durable.catch(() => {});
    throw error;
  }
}
