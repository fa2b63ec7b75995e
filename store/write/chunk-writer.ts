// Streams a body into an upload's storage from its offset. Bytes are copied into pooled blocks;
// each full block is written at its offset and, at the same time, hashed on the hashing thread
// from the same memory, then goes back to the pool. At each chunk boundary the chunk is handed to
// the record step, which syncs the storage and only then records the chunk with its sha256 (in a
// group commit with other uploads); the sync of chunk n overlaps with receiving chunk n+1. Memory per upload stays at a few blocks. With an expected checksum (tus checksum
// extension) nothing is recorded until the whole body has been verified. A chunk recorded before
// (a REST chunk sent out of order) is never written again: its bytes are only hashed, and must
// turn out the same as the stored ones.
import type { Readable } from 'node:stream';
import type { ChunkDigests } from '../../db/schema.js';
import { UploadError } from '../errors.js';
import type { ChunkSink } from '../storage/chunk-storage.js';
import type { BlockPool } from './block-pool.js';
import { type BodyCheck, type Checksummer, checksumMismatch, createChecksummer } from './checksum.js';
import type { UploadHasher } from './hash-state.js';

export interface ChunkWrite {
  sink: ChunkSink;
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
  /** Chunks already recorded for this upload. */
  recorded: Readonly<ChunkDigests>;
  /**
   * Makes the bytes up to `offset` durable, then persists progress (group commit: the sync and the
   * row update are batched with other uploads'); called once those bytes are all written.
   */
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

// A body longer than this has proved long: its next blocks may be large ones (block-pool.ts).
const LARGE_BLOCKS_AFTER = 2 * 1024 * 1024;

/** Writes `source` as described by `w`; resolves with the durable offset reached. */
export function writeChunks(source: Readable | AsyncIterable<Buffer>, w: ChunkWrite): Promise<number> {
  return new ChunkWriter(w).run(source);
}

/**
 * One body's write. Its state moves forward only: bytes received (`position`) >= handed to the
 * storage (`handedOver`) >= scheduled to become durable (`scheduled`) >= durable and recorded
 * (`durableOffset`).
 */
class ChunkWriter {
  private length: number | undefined;
  private position: number;
  private handedOver: number;
  private scheduled: number;
  private durableOffset: number;
  /** The block being filled, and how much of it is. */
  private block: Buffer | undefined;
  private filled = 0;
  /** Every write handed to the storage so far, in order. */
  private lastWrite: Promise<unknown> = Promise.resolve();
  /** The sync and record in progress (at most one). */
  private durable: Promise<void> = Promise.resolve();
  /** Blocks handed over whose write or hash is not done yet. */
  private readonly inFlight: Promise<unknown>[] = [];
  private readonly completed = new Set<number>();
  private readonly checksummer: Checksummer | undefined;
  /** The body is checked as a whole: its chunks are recorded only once it passed. */
  private readonly verifying: boolean;
  /** Chunks completed while a check is pending: recorded only once the body is verified. */
  private readonly deferred: PendingChunk[] = [];

  constructor(private readonly w: ChunkWrite) {
    this.length = w.length;
    this.position = this.handedOver = this.scheduled = this.durableOffset = w.start;
    this.checksummer = w.checksum && 'algorithm' in w.checksum ? createChecksummer(w.checksum.algorithm) : undefined;
    this.verifying = w.checksum !== undefined;
  }

  async run(source: Readable | AsyncIterable<Buffer>): Promise<number> {
    try {
      const stopped = await this.receive(source);
      if (stopped && this.position !== this.length) return await this.stopForShutdown();
      await this.finish();
      return this.durableOffset;
    } catch (error) {
      await this.abandon();
      throw error;
    } finally {
      // a block still being filled was never handed over (a body that ended inside a chunk stored
      // before, or a failure): it can go straight back
      if (this.block) this.w.blocks.give(this.block);
      this.block = undefined;
    }
  }

  /** Reads the body to its end (false) or until asked to stop (true). */
  private async receive(source: Readable | AsyncIterable<Buffer>): Promise<boolean> {
    // The caller's pipeline owns the source: leaving the loop early must not destroy it, or the
    // pipeline fails with an AbortError before the progress is committed or the real error seen.
    const body = 'iterator' in source ? source.iterator({ destroyOnReturn: false }) : source;
    for await (const data of body as AsyncIterable<Buffer>) {
      this.checksummer?.update(data);
      await this.take(data);
      if (this.w.stop?.aborted) return true;
    }
    return false;
  }

  /** Copies `data` into blocks, handing each full block over and completing each full chunk. */
  private async take(data: Buffer): Promise<void> {
    const { chunkSize, maxLength } = this.w;
    let rest = data;
    while (rest.length > 0) {
      const boundary = (Math.floor(this.position / chunkSize) + 1) * chunkSize;
      const limit = this.length === undefined ? boundary : Math.min(boundary, this.length);
      if (limit <= this.position) {
        throw new UploadError('payload_too_large', `the body runs past the upload's length of ${this.length} bytes`);
      }
      if (this.length === undefined && this.position + rest.length > maxLength) {
        throw new UploadError('payload_too_large', `the upload may not grow past ${maxLength} bytes`);
      }
      this.block ??= this.w.blocks.take(this.position - this.w.start >= LARGE_BLOCKS_AFTER);
      const count = Math.min(rest.length, limit - this.position, this.block.length - this.filled);
      rest.copy(this.block, this.filled, 0, count);
      rest = rest.subarray(count);
      this.filled += count;
      this.position += count;
      // the chunk that ends the upload is recorded only once the body has ended: a body that
      // runs on past the length is refused whole and must not leave the upload looking complete
      if (this.position === limit && limit !== this.length) await this.completeChunk();
      else if (this.filled === this.block.length) await this.flush();
    }
  }

  /** Hands the filled part of the current block to the storage and the hashing thread. */
  private async flush(): Promise<void> {
    const full = this.block;
    if (!full || this.filled === 0) return;
    const bytes = full.subarray(0, this.filled);
    const at = this.handedOver;
    this.handedOver += this.filled;
    this.block = undefined;
    this.filled = 0;
    await this.w.blocks.startFlight(full.length);
    // writes stay in order, so `lastWrite` covers every byte handed over so far; a block never
    // spans two chunks, and one of a chunk stored before is only hashed
    if (!this.isRecorded(at)) this.lastWrite = this.lastWrite.then(() => this.w.sink.write([bytes], at));
    // a failure (ENOSPC) is awaited later (next flush, the sync, or abandon); until then it must
    // not count as an unhandled rejection, which would end the process
    this.lastWrite.catch(() => {});
    // a synchronous throw must still settle below, or the flight slot would never come back
    const hashed = (async () => this.w.hasher.update(bytes))();
    const handedOver = Promise.all([this.lastWrite, hashed]);
    // awaited through `inFlight` below or in abandon(); unobserved until then
    handedOver.catch(() => {});
    void Promise.allSettled([this.lastWrite, hashed]).then(() => {
      this.w.blocks.give(full);
      this.w.blocks.endFlight(full.length);
    });
    this.inFlight.push(handedOver);
    while (this.inFlight.length > MAX_BLOCKS_IN_FLIGHT) await this.inFlight.shift();
  }

  /** The chunk ending at `position` is complete: its digest is recorded once it is durable. */
  private async completeChunk(): Promise<void> {
    const number = Math.ceil(this.position / this.w.chunkSize);
    this.completed.add(number);
    await this.flush();
    // asked for after the chunk's last block was handed to the hashing thread, so it covers it
    const digest = this.w.hasher.chunkDigest();
    // awaited below or when the chunk is recorded; unobserved until then
    digest.catch(() => {});
    const stored = this.w.recorded[String(number)];
    if (stored !== undefined && (await digest) !== stored) {
      throw new UploadError(
        'invalid_chunk',
        `the bytes sent for chunk ${number} differ from the bytes already stored for it; resend them as stored`,
      );
    }
    const chunks: PendingChunk[] = stored === undefined ? [[number, digest]] : [];
    if (this.verifying) this.deferred.push(...chunks);
    else await this.makeDurable(this.position, chunks);
  }

  /** Has everything handed over up to `offset` synced and recorded; one at a time. */
  private async makeDurable(offset: number, chunks: readonly PendingChunk[]): Promise<void> {
    await this.durable;
    this.scheduled = offset;
    const written = this.lastWrite;
    this.durable = (async () => {
      await written;
      const digests: ChunkDigests = {};
      for (const [number, digest] of chunks) digests[number] = await digest;
      await this.w.record(offset, digests);
      this.durableOffset = offset;
    })();
    // awaited by the next makeDurable, finish or abandon; unobserved until then
    this.durable.catch(() => {});
  }

  /** The server is stopping mid-body: keep what arrived, then send the client to resume. */
  private async stopForShutdown(): Promise<never> {
    // a body with a checksum counts only whole
    const end = this.durableEnd(this.position);
    if (!this.verifying && end > this.scheduled) {
      await this.flush();
      await this.makeDurable(end, []);
    }
    await this.lastWrite;
    await this.durable;
    throw new UploadError(
      'unavailable',
      `the server is shutting down; the upload is stored up to byte ${this.durableOffset}, resume from there`,
    );
  }

  /** The body ended: complete the last chunk if the upload is whole, verify, make it all durable. */
  private async finish(): Promise<void> {
    if (this.w.ends && this.length === undefined) this.length = this.position;
    // A final partial chunk completes when the length is reached, even if it was declared late
    // (creation-defer-length) and this request carried no bytes at all.
    const last = this.length ? Math.ceil(this.length / this.w.chunkSize) : 0;
    if (this.position === this.length && last > 0 && !this.completed.has(last)) await this.completeChunk();
    const { checksum } = this.w;
    const end = this.durableEnd(this.position);
    if (checksum) {
      if ('afterBody' in checksum) checksum.afterBody();
      else if (!this.checksummer?.digest().equals(checksum.digest)) throw checksumMismatch(checksum.algorithm);
      if (this.position > this.w.start || this.deferred.length > 0) {
        await this.flush();
        await this.makeDurable(end, this.deferred);
      }
    } else if (end > this.scheduled) {
      await this.flush();
      await this.makeDurable(end, []);
    }
    await this.durable;
    await Promise.all(this.inFlight);
  }

  /** Leaves storage and row consistent after a failure: what was recorded stays, the rest is dropped. */
  private async abandon(): Promise<void> {
    // the failure being thrown is what matters; these only have to be over before it leaves
    await this.lastWrite.catch(() => {});
    await this.durable.catch(() => {});
    await Promise.allSettled(this.inFlight);
  }

  private isRecorded(at: number): boolean {
    return String(Math.floor(at / this.w.chunkSize) + 1) in this.w.recorded;
  }

  /** A body that ends inside a chunk stored before has not been compared: it counts to the chunk's start. */
  private durableEnd(at: number): number {
    const number = Math.floor(at / this.w.chunkSize) + 1;
    const unchecked = at % this.w.chunkSize !== 0 && this.isRecorded(at) && !this.completed.has(number);
    return unchecked ? Math.max(this.w.start, (number - 1) * this.w.chunkSize) : at;
  }
}
