// Streams a request body into an upload's data file at a given offset. Bytes are copied into
// pooled blocks; each full block is written positionally and, at the same time, hashed on the
// hashing thread from the same memory, then goes back to the pool. At each chunk boundary the file
// is fdatasync'ed and only then is the chunk recorded with its sha256; the sync of chunk n overlaps
// with receiving chunk n+1. Memory per upload stays at a few blocks. With an expected checksum
// (tus checksum extension) nothing is recorded until the whole body has been verified.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ChunkDigests } from '../db/schema.js';
import type { BlockPool } from './block-pool.js';
import { type BodyCheck, checksumMismatch, createChecksummer } from './checksum.js';
import { UploadError } from './errors.js';
import type { UploadHasher } from './hash-state.js';
import { writeAllAt } from './positional-write.js';

export interface ChunkWrite {
  file: FileHandle;
  chunkSize: number;
  /** Upload length, when known: no byte past it is written. */
  length: number | undefined;
  /** With no length known yet: the most bytes the upload may reach. */
  maxLength: number;
  /** The body ends the upload: with no length known, its end becomes the length. */
  ends?: boolean | undefined;
  start: number;
  /** The upload's running hashes, exactly at `start`. */
  hasher: UploadHasher;
  /** Where the write blocks come from (and go back to). */
  blocks: BlockPool;
  /** Chunks already recorded for this upload (to avoid recording one twice). */
  recorded: Readonly<ChunkDigests>;
  /** Persists progress; called only once the bytes up to `offset` are durable. */
  record(offset: number, chunks: ChunkDigests): Promise<void>;
  /** Upload-Checksum of this body, or a check run once it ended: on a mismatch none of it is recorded. */
  checksum?: BodyCheck | undefined;
  /** When aborted (server shutting down), stop reading and commit what has arrived. */
  stop?: AbortSignal | undefined;
}

/** A completed chunk and its digest, still being computed on the hashing thread. */
type PendingChunk = [number, Promise<string>];

// Blocks written and hashed but not yet back in the pool, per upload: bounds its memory and makes
// a fast client wait for the disk rather than queue bytes in the process. The pool bounds them
// across all uploads as well.
const MAX_BLOCKS_IN_FLIGHT = 2;

export async function writeChunks(source: Readable | AsyncIterable<Buffer>, w: ChunkWrite): Promise<number> {
  const { file, chunkSize, hasher, blocks } = w;
  let length = w.length;
  let position = w.start;
  let block: Buffer | undefined;
  let filled = 0;
  let writePosition = w.start;
  let lastWrite: Promise<unknown> = Promise.resolve();
  let durable: Promise<void> = Promise.resolve();
  let durableOffset = w.start;
  let scheduledOffset = w.start;
  const completed = new Set<number>();
  const checksummer = w.checksum && 'algorithm' in w.checksum ? createChecksummer(w.checksum.algorithm) : undefined;
  // with a check of the body, its chunks are recorded only once the whole body passed it
  const verifying = w.checksum !== undefined;
  const deferred: PendingChunk[] = [];
  // settle when their block is back in the pool
  const inFlight: Promise<unknown>[] = [];

  // A chunk recorded before (a REST chunk sent out of order) is never written again: its bytes are
  // only hashed, and must turn out the same as the stored ones when the chunk completes.
  const isRecorded = (at: number) => String(Math.floor(at / chunkSize) + 1) in w.recorded;
  // A body that ends inside such a chunk has not been compared yet: it counts up to the chunk's start.
  const durableEnd = (at: number) => {
    const number = Math.floor(at / chunkSize) + 1;
    const unchecked = at % chunkSize !== 0 && isRecorded(at) && !completed.has(number);
    return unchecked ? Math.max(w.start, (number - 1) * chunkSize) : at;
  };

  const flush = async () => {
    if (!block || filled === 0) return;
    const full = block;
    const bytes = full.subarray(0, filled);
    const at = writePosition;
    writePosition += filled;
    block = undefined;
    filled = 0;
    await blocks.startFlight();
    // writes stay in order, so `lastWrite` covers every byte handed over so far; the hashing
    // thread reads the same block meanwhile (updates of one upload are applied in order); a block
    // never spans two chunks
    if (!isRecorded(at)) lastWrite = lastWrite.then(() => writeAllAt(file, [bytes], at));
    // awaited later (next flush, the sync, or the catch below); until then a failure such as
    // ENOSPC must not count as an unhandled rejection, which would end the process
    lastWrite.catch(() => {});
    // a synchronous throw must still settle below, or the flight slot would never come back
    const hashed = (async () => hasher.update(bytes))();
    const handedOver = Promise.all([lastWrite, hashed]);
    handedOver.catch(() => {});
    void Promise.allSettled([lastWrite, hashed]).then(() => {
      blocks.give(full);
      blocks.endFlight();
    });
    inFlight.push(handedOver);
    while (inFlight.length > MAX_BLOCKS_IN_FLIGHT) await inFlight.shift();
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
    // asked for after the chunk's last block was handed to the hashing thread, so it covers it
    const digest = hasher.chunkDigest();
    digest.catch(() => {});
    const stored = w.recorded[String(number)];
    if (stored !== undefined && (await digest) !== stored) {
      throw new UploadError(
        'invalid_chunk',
        `the bytes sent for chunk ${number} differ from the bytes already stored for it; resend them as stored`,
      );
    }
    const chunks: PendingChunk[] = stored === undefined ? [[number, digest]] : [];
    if (verifying) deferred.push(...chunks);
    else await makeDurable(position, chunks);
  };

  // The caller's stream pipeline owns the source: leaving the loop early must not destroy it, or
  // the pipeline fails with an AbortError before the progress is committed or the real error seen.
  const body = 'iterator' in source ? source.iterator({ destroyOnReturn: false }) : source;
  let stopped = false;
  try {
    for await (const data of body as AsyncIterable<Buffer>) {
      checksummer?.update(data);
      let rest = data;
      while (rest.length > 0) {
        const boundary = (Math.floor(position / chunkSize) + 1) * chunkSize;
        const limit = length === undefined ? boundary : Math.min(boundary, length);
        if (limit <= position) {
          throw new UploadError('payload_too_large', `the body runs past the upload's length of ${length} bytes`);
        }
        if (length === undefined && position + rest.length > w.maxLength) {
          throw new UploadError('payload_too_large', `the upload may not grow past ${w.maxLength} bytes`);
        }
        block ??= blocks.take();
        const count = Math.min(rest.length, limit - position, block.length - filled);
        rest.copy(block, filled, 0, count);
        rest = rest.subarray(count);
        filled += count;
        position += count;
        // the chunk that ends the upload is recorded only once the body has ended: a body that
        // runs on past the length is refused whole and must not leave the upload looking complete
        if (position === limit && limit !== length) await completeChunk();
        else if (filled === block.length) await flush();
      }
      if (w.stop?.aborted) {
        stopped = true;
        break;
      }
    }
    if (stopped && position !== length) {
      // the server is stopping mid-body: keep what arrived (a body with a checksum only counts
      // whole), then send the client to resume from the durable offset
      if (!verifying && durableEnd(position) > scheduledOffset) {
        await flush();
        await makeDurable(durableEnd(position), []);
      }
      await lastWrite;
      await durable;
      throw new UploadError(
        'unavailable',
        `the server is shutting down; the upload is stored up to byte ${durableOffset}, resume from there`,
      );
    }
    if (w.ends && length === undefined) length = position;
    // A final partial chunk completes when the length is reached, even if it was declared late
    // (creation-defer-length) and this request carried no bytes at all.
    const last = length ? Math.ceil(length / chunkSize) : 0;
    if (position === length && last > 0 && !(String(last) in w.recorded) && !completed.has(last)) {
      await completeChunk();
    }
    if (w.checksum) {
      if ('afterBody' in w.checksum) w.checksum.afterBody();
      else if (!checksummer?.digest().equals(w.checksum.digest)) throw checksumMismatch(w.checksum.algorithm);
      if (position > w.start || deferred.length > 0) {
        await flush();
        await makeDurable(durableEnd(position), deferred);
      }
    } else if (durableEnd(position) > scheduledOffset) {
      await flush();
      await makeDurable(durableEnd(position), []);
    }
    await durable;
    await Promise.all(inFlight);
    return durableOffset;
  } catch (error) {
    // Leave the file and row consistent: whatever was recorded stays, the rest is dropped.
    await lastWrite.catch(() => {});
    await durable.catch(() => {});
    await Promise.allSettled(inFlight);
    // a block still being filled was never handed over: it can go straight back
    if (block) blocks.give(block);
    throw error;
  }
}
