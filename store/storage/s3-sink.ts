// Writing one upload to object storage: bytes go into the spool file of their chunk; at a sync
// every chunk that is now whole (the chunk size, or the rest of a declared length) is sent as its
// multipart part and its ETag recorded before the sync resolves, and the others are fdatasynced.
// So what a sync makes durable is: parts S3 acknowledged, plus spooled bytes on local disk.
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import type { StorageUpload } from '../../db/schema.js';
import type { StorageUploadRepository } from '../../db/storage-upload-repository.js';
import { writeAllAt } from '../write/positional-write.js';
import type { ChunkSink, UploadShape } from './chunk-storage.js';
import { MAX_PARTS, tooManyParts } from './s3-settings.js';
import type { Spool } from './s3-spool.js';

export interface S3SinkDeps {
  client: S3Client;
  bucket: string;
  spool: Spool;
  rows: StorageUploadRepository;
}

interface OpenChunk {
  handle: FileHandle;
  /** Bytes of the chunk written so far, from its start. */
  filled: number;
}

export class S3Sink implements ChunkSink {
  private readonly chunks = new Map<number, OpenChunk>();
  private readonly dirty = new Set<number>();
  /** Spool files uploaded as parts whose session record may still be on its way. */
  private uploaded: number[] = [];
  private created = false;

  constructor(
    private readonly deps: S3SinkDeps,
    private readonly row: StorageUpload,
    private readonly shape: UploadShape,
    private readonly openedAt: number,
  ) {}

  async write(bytes: Buffer[], at: number): Promise<void> {
    const count = bytes.reduce((n, b) => n + b.length, 0);
    if (count === 0) return;
    const { chunkSize } = this.shape;
    const chunkStart = Math.floor(at / chunkSize) * chunkSize;
    // an upload of deferred length may run past what one multipart upload can hold
    if (chunkStart / chunkSize >= MAX_PARTS) throw tooManyParts(this.shape);
    const chunk = await this.chunkAt(chunkStart);
    await writeAllAt(chunk.handle, bytes, at - chunkStart);
    chunk.filled = Math.max(chunk.filled, at - chunkStart + count);
    this.dirty.add(chunkStart);
  }

  async sync(): Promise<void> {
    // a sync starts only once the record that followed the previous one is done: those parts'
    // spool files are no longer needed to resume
    for (const chunkStart of this.uploaded) await this.deps.spool.remove(this.row.sessionId, chunkStart);
    this.uploaded = [];
    const work = [...this.dirty].map((chunkStart) => this.settle(chunkStart));
    this.dirty.clear();
    await Promise.all(work);
    if (this.created) {
      await this.deps.spool.syncUploadDir(this.row.sessionId);
      this.created = false;
    }
  }

  async close(): Promise<void> {
    const handles = [...this.chunks.values()].map((chunk) => chunk.handle.close());
    this.chunks.clear();
    await Promise.allSettled(handles);
  }

  private async chunkAt(chunkStart: number): Promise<OpenChunk> {
    const known = this.chunks.get(chunkStart);
    if (known) return known;
    const { handle, created } = await this.deps.spool.open(this.row.sessionId, chunkStart);
    this.created ||= created;
    // a chunk the upload resumes inside already holds its durable bytes up to the offset
    const inside = this.openedAt > chunkStart && this.openedAt < chunkStart + this.shape.chunkSize;
    const chunk = { handle, filled: inside ? this.openedAt - chunkStart : 0 };
    this.chunks.set(chunkStart, chunk);
    return chunk;
  }

  /** A whole chunk becomes its part; a partial one is made durable where it is. */
  private async settle(chunkStart: number): Promise<void> {
    const chunk = this.chunks.get(chunkStart);
    if (!chunk) return;
    const { chunkSize, length } = this.shape;
    const whole = length === undefined ? chunkSize : Math.min(chunkSize, length - chunkStart);
    if (chunk.filled < whole) {
      await chunk.handle.datasync();
      return;
    }
    await uploadPart(this.deps, this.row, chunkStart, whole);
    this.chunks.delete(chunkStart);
    await chunk.handle.close();
    // the chunk this sink resumed inside holds acknowledged bytes its part does not yet stand
    // for in the session row: its spool file stays until that record is made
    const resumedInside = this.openedAt > chunkStart && this.openedAt < chunkStart + chunkSize;
    if (resumedInside) this.uploaded.push(chunkStart);
    else await this.deps.spool.remove(this.row.sessionId, chunkStart);
  }
}

/** Sends a chunk's spool file as its part and records the part's ETag. */
export async function uploadPart(
  deps: S3SinkDeps,
  row: StorageUpload,
  chunkStart: number,
  size: number,
): Promise<void> {
  const partNumber = Math.floor(chunkStart / row.chunkSize) + 1;
  const path = deps.spool.path(row.sessionId, chunkStart);
  const answer = await deps.client.send(
    new UploadPartCommand({
      Bucket: deps.bucket,
      Key: row.objectKey,
      UploadId: row.uploadId,
      PartNumber: partNumber,
      ContentLength: size,
      Body: size === 0 ? Buffer.alloc(0) : createReadStream(path, { start: 0, end: size - 1 }),
    }),
  );
  if (!answer.ETag) throw new Error(`S3 answered part ${partNumber} of ${row.objectKey} without an ETag`);
  await deps.rows.recordPart(row.sessionId, partNumber, answer.ETag, size);
}
