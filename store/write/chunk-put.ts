// Writes one whole numbered chunk received out of order (the REST chunk route) into its region
// of the upload's storage. Bytes that are already durable for the session (below its offset, or the
// whole chunk when it was stored before) are not rewritten: they are only hashed, so the caller
// can check they match what is stored and a bad re-send can never damage acknowledged data.
import type { Readable } from 'node:stream';
import type { UploadSession } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { chunkLength, chunkStart } from '../chunking.js';
import { UploadError } from '../errors.js';
import type { UploadEvents } from '../events.js';
import { type ChunkSink, type ChunkStorage, uploadShape } from '../storage/chunk-storage.js';
import { storageError } from '../storage/storage-error.js';
import { checksumMismatch, createChecksummer, type ExpectedChecksum } from './checksum.js';
import { sha256 } from './hash-state.js';

export interface NumberedChunkDeps {
  storage: ChunkStorage;
  sessions: SessionRepository;
  events: UploadEvents;
  bufferSize: number;
  nextExpiry(): Date;
}

/**
 * Stores chunk n of a receiving session whole, in any order and concurrently with other chunks.
 * Re-sending a stored chunk is a no-op when its bytes match and `invalid_chunk` when not.
 */
export async function storeNumberedChunk(
  deps: NumberedChunkDeps,
  session: UploadSession,
  chunkNumber: number,
  stream: Readable,
  checksum?: ExpectedChecksum,
): Promise<UploadSession> {
  const { id } = session;
  const length = session.uploadLength;
  if (length === null) throw new UploadError('invalid_state', `upload ${id} has not declared its length yet`);
  const total = session.totalChunks ?? 0;
  if (!Number.isInteger(chunkNumber) || chunkNumber < 1 || chunkNumber > total) {
    throw new UploadError(
      'invalid_chunk',
      total === 0
        ? `upload ${id} is empty and takes no chunks`
        : `chunk_number must be a whole number from 1 to ${total}`,
    );
  }
  const start = chunkStart(chunkNumber, session.chunkSize);
  const size = chunkLength(chunkNumber, session.chunkSize, length);
  const recorded = session.chunks[String(chunkNumber)];
  const protectedEnd = recorded ? start + size : Math.max(start, Math.min(start + size, session.uploadOffset));
  const shape = uploadShape(session, length);
  // nothing stored to keep: the whole chunk goes in one stream (straight into its part on S3)
  const whole = protectedEnd === start && deps.storage.openWholeChunk;
  const sink = whole
    ? await whole.call(deps.storage, id, session.uploadOffset, shape, chunkNumber)
    : await deps.storage.openSink(id, session.uploadOffset, shape);
  try {
    const put = await putChunk(sink, stream, {
      chunkNumber,
      start,
      length: size,
      protectedEnd,
      bufferSize: deps.bufferSize,
      checksum,
    });
    if (recorded) {
      if (put.digest !== recorded) throw differentChunk(chunkNumber);
      return session;
    }
    if (put.protectedDigest !== undefined) {
      const onDisk = sha256();
      for await (const block of deps.storage.read(id, start, protectedEnd)) onDisk.update(block);
      if (onDisk.digest('hex') !== put.protectedDigest) throw differentChunk(chunkNumber);
    }
    const updated = await deps.sessions.recordChunk(session.ownerId, id, chunkNumber, put.digest, deps.nextExpiry());
    if (!updated) throw new UploadError('invalid_state', `upload ${id} was paused or cancelled while receiving`);
    deps.events.emit('progress', {
      id,
      ownerId: updated.ownerId,
      offset: updated.uploadOffset,
      length: updated.uploadLength,
      bytes: size,
      chunks: [chunkNumber],
    });
    return updated;
  } catch (error) {
    throw storageError(error);
  } finally {
    await sink.close();
  }
}

function differentChunk(chunkNumber: number): UploadError {
  return new UploadError('invalid_chunk', `chunk ${chunkNumber} differs from the bytes already stored for it`);
}

export interface ChunkPut {
  chunkNumber: number;
  start: number;
  length: number;
  /** Bytes [start, protectedEnd) are hashed but not written. */
  protectedEnd: number;
  bufferSize: number;
  checksum?: ExpectedChecksum | undefined;
}

export interface ChunkPutResult {
  /** sha256 of the whole chunk as received. */
  digest: string;
  /** sha256 of the received bytes of [start, protectedEnd), when that range is not empty. */
  protectedDigest: string | undefined;
}

export async function putChunk(sink: ChunkSink, source: Readable, put: ChunkPut): Promise<ChunkPutResult> {
  const { start, length, protectedEnd } = put;
  const end = start + length;
  const whole = sha256();
  const overlap = sha256();
  const checksummer = put.checksum ? createChecksummer(put.checksum.algorithm) : undefined;
  let position = start;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let writePosition = Math.max(start, protectedEnd);

  const flush = async () => {
    await sink.write(pending, writePosition);
    writePosition += pendingBytes;
    pending = [];
    pendingBytes = 0;
  };

  // a refused body must not destroy the request: the error response still has to reach the client
  for await (const data of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if (position + data.length > end) {
      throw new UploadError('invalid_chunk', `chunk ${put.chunkNumber} is longer than its ${length} bytes`);
    }
    whole.update(data);
    checksummer?.update(data);
    const guarded = Math.min(Math.max(protectedEnd - position, 0), data.length);
    if (guarded > 0) overlap.update(data.subarray(0, guarded));
    if (guarded < data.length) {
      pending.push(data.subarray(guarded));
      pendingBytes += data.length - guarded;
    }
    position += data.length;
    if (pendingBytes >= put.bufferSize) await flush();
  }
  if (position !== end) {
    throw new UploadError(
      'invalid_chunk',
      `chunk ${put.chunkNumber} has ${position - start} bytes; it must be exactly ${length} bytes`,
    );
  }
  if (checksummer && put.checksum && !checksummer.digest().equals(put.checksum.digest)) {
    throw checksumMismatch(put.checksum.algorithm);
  }
  await flush();
  await sink.sync();
  return { digest: whole.digest('hex'), protectedDigest: protectedEnd > start ? overlap.digest('hex') : undefined };
}
