// Writes one whole numbered chunk received out of order (the REST chunk route) into its region
// of the data file. Bytes that are already durable for the session (below its offset, or the
// whole chunk when it was stored before) are not rewritten: they are only hashed, so the caller
// can check they match what is stored and a bad re-send can never damage acknowledged data.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { UploadError } from './errors.js';
import { sha256 } from './hash-state.js';

export interface ChunkPut {
  chunkNumber: number;
  start: number;
  length: number;
  /** Bytes [start, protectedEnd) are hashed but not written. */
  protectedEnd: number;
  bufferSize: number;
}

export interface ChunkPutResult {
  /** sha256 of the whole chunk as received. */
  digest: string;
  /** sha256 of the received bytes of [start, protectedEnd), when that range is not empty. */
  protectedDigest: string | undefined;
}

export async function putChunk(file: FileHandle, source: Readable, put: ChunkPut): Promise<ChunkPutResult> {
  const { start, length, protectedEnd } = put;
  const end = start + length;
  const whole = sha256();
  const overlap = sha256();
  let position = start;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let writePosition = Math.max(start, protectedEnd);

  const flush = async () => {
    let queue = pending;
    pending = [];
    while (pendingBytes > 0) {
      const { bytesWritten } = await file.writev(queue, writePosition);
      writePosition += bytesWritten;
      pendingBytes -= bytesWritten;
      queue = skip(queue, bytesWritten);
    }
  };

  for await (const data of source as AsyncIterable<Buffer>) {
    if (position + data.length > end) {
      throw new UploadError('invalid_chunk', `chunk ${put.chunkNumber} is longer than its ${length} bytes`);
    }
    whole.update(data);
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
  await flush();
  await file.datasync();
  return { digest: whole.digest('hex'), protectedDigest: protectedEnd > start ? overlap.digest('hex') : undefined };
}

function skip(buffers: Buffer[], count: number): Buffer[] {
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
