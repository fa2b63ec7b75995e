// Streams a request body into an upload's data file at a given offset. Bytes are gathered into a
// bounded buffer and written positionally; at each chunk boundary the chunk's sha256 is taken, the
// file is fdatasync'ed and only then is the chunk recorded. The sync of chunk n overlaps with
// receiving chunk n+1. Memory per upload stays at about two write buffers. With an expected
// checksum (tus checksum extension) nothing is recorded until the whole body has been verified.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ChunkDigests } from '../db/schema.js';
import { checksumMismatch, createChecksummer, type ExpectedChecksum } from './checksum.js';
import { sha256, type UploadHashes } from './hash-state.js';

export interface ChunkWrite {
  file: FileHandle;
  chunkSize: number;
  /** Upload length, when known: no byte past it is written. */
  length: number | undefined;
  start: number;
  /** Hash state exactly at `start`; updated in place. */
  hashes: UploadHashes;
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

export async function writeChunks(source: Readable, w: ChunkWrite): Promise<number> {
  const { file, chunkSize, length, hashes } = w;
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
  const deferred: ChunkDigests = {};

  const flush = async () => {
    await lastWrite;
    if (pendingBytes === 0) return;
    const buffers = pending;
    const at = writePosition;
    writePosition += pendingBytes;
    pending = [];
    pendingBytes = 0;
    lastWrite = writeAll(file, buffers, at);
  };

  const makeDurable = async (offset: number, chunks: ChunkDigests) => {
    // at most one sync outstanding: wait for the previous one before queueing the next
    await durable;
    scheduledOffset = offset;
    const written = lastWrite;
    durable = (async () => {
      await written;
      await file.datasync();
      await w.record(offset, chunks);
      durableOffset = offset;
    })();
    // keep an unobserved rejection from crashing the process; it is awaited below
    durable.catch(() => {});
  };

  const completeChunk = async () => {
    const number = Math.ceil(position / chunkSize);
    const digest = hashes.chunk.digest('hex');
    hashes.chunk = sha256();
    completed.add(number);
    await flush();
    const chunks: ChunkDigests = String(number) in w.recorded ? {} : { [number]: digest };
    if (checksummer) Object.assign(deferred, chunks);
    else await makeDurable(position, chunks);
  };

  try {
    for await (const data of source as AsyncIterable<Buffer>) {
      checksummer?.update(data);
      let rest = data;
      while (rest.length > 0) {
        const boundary = (Math.floor(position / chunkSize) + 1) * chunkSize;
        const limit = length === undefined ? boundary : Math.min(boundary, length);
        if (limit <= position) throw new Error(`write past the upload length ${length}`);
        const piece = rest.length <= limit - position ? rest : rest.subarray(0, limit - position);
        rest = rest.subarray(piece.length);
        hashes.chunk.update(piece);
        hashes.file?.update(piece);
        pending.push(piece);
        pendingBytes += piece.length;
        position += piece.length;
        hashes.offset = position;
        // the chunk that ends the upload is recorded only once the body has ended: a body that
        // runs on past the length is refused whole and must not leave the upload looking complete
        if (position === limit && limit !== length) await completeChunk();
        else if (pendingBytes >= w.bufferSize) await flush();
      }
      if (w.stop?.aborted) break;
    }
    // A final partial chunk completes when the length is reached, even if it was declared late
    // (creation-defer-length) and this request carried no bytes at all.
    const last = length ? Math.ceil(length / chunkSize) : 0;
    if (position === length && last > 0 && !(String(last) in w.recorded) && !completed.has(last)) {
      await completeChunk();
    }
    if (checksummer && w.checksum) {
      if (!checksummer.digest().equals(w.checksum.digest)) throw checksumMismatch(w.checksum.algorithm);
      if (position > w.start || Object.keys(deferred).length > 0) {
        await flush();
        await makeDurable(position, deferred);
      }
    } else if (position > scheduledOffset) {
      await flush();
      await makeDurable(position, {});
    }
    await durable;
    return durableOffset;
  } catch (error) {
    // Leave the file and row consistent: whatever was recorded stays, the rest is dropped.
    await lastWrite.catch(() => {});
    await durable.catch(() => {});
    throw error;
  }
}

async function writeAll(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let at = position;
  let queue = buffers;
  while (queue.length > 0) {
    const { bytesWritten } = await file.writev(queue, at);
    at += bytesWritten;
    queue = dropBytes(queue, bytesWritten);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  const out: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) {
      left -= buffer.length;
      continue;
    }
    out.push(left > 0 ? buffer.subarray(left) : buffer);
    left = 0;
  }
  return out;
}
