// The object storage implementation of ChunkStorage (STORAGE=s3). Each upload is one S3 multipart
// upload made at creation straight into its asset's key; chunk n is part n, every part but the
// last exactly the chunk size. Bytes of a chunk not yet whole wait in a local spool file
// (s3-spool.ts, s3-sink.ts); parts' ETags are kept in storage_uploads, so finishing is one
// CompleteMultipartUpload with no ListParts and no copy. Parts cannot be read back before then:
// only the spooled chunk is readable (`readsWholeUploads` is false).
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { StorageUpload } from '../../db/schema.js';
import type { StorageUploadRepository } from '../../db/storage-upload-repository.js';
import { UploadError } from '../errors.js';
import { servedMediaType } from '../media-type.js';
import type { ByteSource, ChunkSink, ChunkStorage, LeftoverReport, UploadShape } from './chunk-storage.js';
import { attachmentOf } from './layout.js';
import { completeMultipart, objectExists } from './s3-complete.js';
import { S3PartSink } from './s3-part-sink.js';
import { S3Requests } from './s3-requests.js';
import { assetIdOf, assetKey, isMissing, MAX_PARTS, type S3Settings, tooManyParts } from './s3-settings.js';
import { S3Sink, type S3SinkDeps } from './s3-sink.js';
import { Spool } from './s3-spool.js';
import { type LiveUploads, sweepS3Leftovers } from './s3-sweep.js';

const PRESIGNED_TTL_SECONDS = 300;

export class S3ChunkStorage implements ChunkStorage {
  readonly readsWholeUploads = false;
  readonly spool: Spool;
  /** Every S3 request made, for metrics. */
  readonly requests: S3Requests;
  private readonly deps: S3SinkDeps;

  constructor(
    readonly client: S3Client,
    readonly settings: S3Settings,
    readonly rows: StorageUploadRepository,
  ) {
    this.spool = new Spool(settings.spoolDir);
    this.requests = new S3Requests(client);
    this.deps = { client, bucket: settings.bucket, spool: this.spool, rows };
  }

  async create(id: string, shape: UploadShape): Promise<void> {
    if (shape.length !== undefined && Math.ceil(shape.length / shape.chunkSize) > MAX_PARTS) throw tooManyParts(shape);
    if (await this.rows.find(id)) throw new UploadError('storage_error', `upload ${id} already has its storage`);
    const key = this.assetPath(shape.ownerId, this.assetIdFor(id), shape.filename);
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.settings.bucket,
        Key: key,
        ContentType: servedMediaType(shape.contentType),
        ContentDisposition: attachmentOf(shape.filename),
        Metadata: { 'upload-id': id },
      }),
    );
    if (!created.UploadId) throw new Error(`S3 began a multipart upload for ${key} without an UploadId`);
    await this.rows.insert({ sessionId: id, objectKey: key, uploadId: created.UploadId, chunkSize: shape.chunkSize });
  }

  async openSink(id: string, durableOffset: number, shape: UploadShape): Promise<ChunkSink> {
    const row = await this.rowFor(id, durableOffset, shape);
    await this.spool.removeBelow(id, durableOffset, row.chunkSize);
    await this.assertSpooled(row, durableOffset);
    return new S3Sink(this.deps, row, shape, durableOffset);
  }

  /** A whole chunk streams straight into its part: no spool file. */
  async openWholeChunk(id: string, durableOffset: number, shape: UploadShape, chunkNumber: number): Promise<ChunkSink> {
    const row = await this.rowFor(id, durableOffset, shape);
    const start = (chunkNumber - 1) * row.chunkSize;
    const size = Math.min(row.chunkSize, (shape.length ?? start + row.chunkSize) - start);
    return new S3PartSink(this.deps, row, chunkNumber, size);
  }

  private async rowFor(id: string, durableOffset: number, shape: UploadShape): Promise<StorageUpload> {
    const row = await this.rows.find(id);
    if (row) return row;
    // an empty upload may begin again; one that held acknowledged bytes may not
    if (durableOffset > 0) throw new UploadError('storage_error', `the multipart upload of ${id} is gone`);
    await this.create(id, shape);
    return this.mustFind(id);
  }

  /**
   * An upload that stopped inside a chunk resumes only where that chunk's first bytes are spooled.
   * On another instance they are not: continuing there would send a part missing them, and setting
   * the offset back would leave the first instance's spool stale, so the request is refused.
   */
  private async assertSpooled(row: StorageUpload, durableOffset: number): Promise<void> {
    const inside = durableOffset % row.chunkSize;
    if (inside === 0) return;
    const chunkStart = durableOffset - inside;
    const entry = (await this.spool.list(row.sessionId)).find((e) => e.chunkStart === chunkStart);
    if (entry && entry.size >= inside) return;
    const n = chunkStart / row.chunkSize + 1;
    throw new UploadError(
      'unavailable',
      `the first ${inside} bytes of chunk ${n} of upload ${row.sessionId} are spooled on another instance; ` +
        'send the requests of an upload to the instance that received its last bytes',
    );
  }

  /** Only spooled bytes, or a sealed upload's, can be read: S3 gives no access to parts. */
  async *read(id: string, start: number, end: number): AsyncIterable<Buffer> {
    if (end <= start) return;
    const row = await this.mustFind(id);
    if (row.sealed) {
      yield* this.readAsset(row.objectKey, start, end);
      return;
    }
    const spooled = await this.spool.list(id);
    for (let at = start; at < end; ) {
      const chunkStart = Math.floor(at / row.chunkSize) * row.chunkSize;
      const upTo = Math.min(end, chunkStart + row.chunkSize);
      const entry = spooled.find((e) => e.chunkStart === chunkStart);
      if (!entry || entry.chunkStart + entry.size < upTo) {
        throw new UploadError(
          'storage_error',
          `bytes ${at}-${upTo - 1} of upload ${id} are in S3 parts, which cannot be read before the upload completes`,
        );
      }
      yield* this.spool.read(id, chunkStart, at - chunkStart, upTo - chunkStart);
      at = upTo;
    }
  }

  sourceOf(id: string, chunkStart: number): ByteSource {
    return { path: this.spool.path(id, chunkStart), from: chunkStart };
  }

  async storedLength(id: string): Promise<number | undefined> {
    const row = await this.rows.find(id);
    if (!row) return undefined;
    let end = 0;
    for (const [n, part] of Object.entries(row.parts)) end = Math.max(end, (Number(n) - 1) * row.chunkSize + part.size);
    for (const entry of await this.spool.list(id)) end = Math.max(end, entry.chunkStart + entry.size);
    return end;
  }

  async remove(id: string): Promise<void> {
    const row = await this.rows.find(id);
    if (row) {
      // a sealed upload's object is its own, never an asset's: an asset's row has no storage row
      if (row.sealed) await this.removeAsset(row.objectKey);
      else await this.abort(row.objectKey, row.uploadId);
      await this.rows.delete(id);
    }
    await this.spool.removeAll(id);
  }

  /** Aborts a multipart upload; one already gone is fine. */
  async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.settings.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  assetIdFor(sessionId: string): string {
    return assetIdOf(sessionId);
  }

  assetPath(ownerId: string, assetId: string, filename: string): string {
    return assetKey(this.settings.prefix, ownerId, assetId, filename);
  }

  async locate(id: string, assetPath: string): Promise<'upload' | 'asset' | undefined> {
    if (await this.rows.find(id)) return 'upload';
    return (await this.exists(assetPath)) ? 'asset' : undefined;
  }

  async promote(id: string, assetPath: string, length: number): Promise<void> {
    const row = await this.rows.find(id);
    if (!row) {
      // a finalise that stopped after completing has nothing left to do
      if (await this.exists(assetPath)) return;
      throw new UploadError('storage_error', `data of upload ${id} is missing`);
    }
    if (row.objectKey !== assetPath) throw new Error(`upload ${id} was begun into ${row.objectKey}, not ${assetPath}`);
    if (!row.sealed) await completeMultipart(this.deps, row, length);
    await this.rows.delete(id);
    await this.spool.removeAll(id);
  }

  /**
   * Makes a fully received upload readable (a part of a tus concatenation, read to be joined): its
   * multipart upload is completed into its object, which `read` then serves; `remove` deletes it.
   */
  async seal(id: string, length: number): Promise<void> {
    const row = await this.mustFind(id);
    if (row.sealed) return;
    await completeMultipart(this.deps, row, length);
    await this.rows.markSealed(id);
    await this.spool.removeAll(id);
  }

  sweepLeftovers(live: LiveUploads, olderThan: Date): Promise<LeftoverReport> {
    return sweepS3Leftovers(this, live, olderThan);
  }

  assetFile(_assetPath: string): undefined {
    return undefined;
  }

  async *readAsset(assetPath: string, start: number, end: number): AsyncIterable<Buffer> {
    if (end <= start) return;
    const answer = await this.client.send(
      new GetObjectCommand({ Bucket: this.settings.bucket, Key: assetPath, Range: `bytes=${start}-${end - 1}` }),
    );
    const body = answer.Body as AsyncIterable<Uint8Array> | undefined;
    if (!body) throw new UploadError('storage_error', `S3 sent no body for ${assetPath}`);
    for await (const block of body) yield Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  }

  /** A presigned GET valid for five minutes: long enough to start, too short to pass around. */
  async downloadUrl(
    assetPath: string,
    response: { contentType: string; disposition: string },
  ): Promise<string | undefined> {
    if (!this.settings.presignedDownloads) return undefined;
    const get = new GetObjectCommand({
      Bucket: this.settings.bucket,
      Key: assetPath,
      ResponseContentType: response.contentType,
      ResponseContentDisposition: response.disposition,
    });
    return getSignedUrl(this.client, get, { expiresIn: PRESIGNED_TTL_SECONDS });
  }

  /** The bucket answers, with these credentials. */
  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }));
  }

  async removeAsset(assetPath: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: assetPath }));
  }

  private exists(key: string): Promise<boolean> {
    return objectExists(this.deps, key);
  }

  private async mustFind(id: string): Promise<StorageUpload> {
    const row = await this.rows.find(id);
    if (!row) throw new UploadError('storage_error', `the multipart upload of ${id} is gone`);
    return row;
  }
}
