// ChunkStore: a @tus/server DataStore over fixed-size numbered chunks. Each upload is one data file
// in which chunk n occupies bytes [(n-1)C, nC); its session row in PostgreSQL records the durable
// offset and every completed chunk with its sha256. The row, not the file size, is the truth about
// progress: it only moves after the bytes are synced, so a crash can lose unacknowledged bytes but
// never report bytes that are not there.
import { createReadStream } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DataStore, Upload } from '@tus/utils';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Asset, UploadMetadata, UploadSession } from '../db/schema.js';
import type { SessionRepository } from '../db/session-repository.js';
import { putChunk } from './chunk-put.js';
import { writeChunks } from './chunk-writer.js';
import { chunkLength, chunkStart, totalChunks } from './chunking.js';
import { UploadError } from './errors.js';
import { finalizeUpload, isNotFound } from './finalize.js';
import { HashStates, hashRange, sha256, type UploadHashes } from './hash-state.js';
import { isValidUploadId, type StorageLayout } from './layout.js';
import { sessionOptionsFrom } from './session-options.js';

/**
 * Metadata key through which the server's creation hook hands the authenticated owner to
 * `create()`. It is always overwritten by the hook and never stored as metadata.
 */
export const OWNER_METADATA_KEY = '__owner';

export const CHUNK_STORE_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
] as const;

export interface ChunkStoreOptions {
  layout: StorageLayout;
  sessions: SessionRepository;
  assets: AssetRepository;
  defaultChunkSize: number;
  sessionTtlMs: number;
  /** Bytes gathered before each positional write (default 4 MiB). */
  writeBufferSize?: number;
}

export interface NewSessionInput {
  id: string;
  ownerId: string;
  length: number | undefined;
  metadata: UploadMetadata;
}

// Below this offset a lost whole-file hash is rebuilt while resuming; above it, at finalising.
const REHASH_ON_RESUME_LIMIT = 64 * 1024 * 1024;

export class ChunkStore extends DataStore {
  override extensions: string[] = [...CHUNK_STORE_EXTENSIONS];
  readonly hashes = new HashStates();
  private readonly writeBufferSize: number;

  constructor(private readonly options: ChunkStoreOptions) {
    super();
    this.writeBufferSize = options.writeBufferSize ?? 4 * 1024 * 1024;
  }

  override async create(upload: Upload): Promise<Upload> {
    const { [OWNER_METADATA_KEY]: ownerId, ...metadata } = upload.metadata ?? {};
    if (!ownerId) throw new UploadError('internal_error', 'upload created without an owner');
    const session = await this.createSession({ id: upload.id, ownerId, length: upload.size, metadata });
    return this.toUpload(session);
  }

  /** Creates the session row and its empty data file. Shared by tus and the REST API. */
  async createSession(input: NewSessionInput): Promise<UploadSession> {
    if (!isValidUploadId(input.id)) throw new UploadError('validation_error', 'invalid upload id');
    const opts = sessionOptionsFrom(input.metadata, this.options.defaultChunkSize);
    const file = await open(this.options.layout.uploadPath(input.id), 'wx');
    await file.close();
    return this.options.sessions.create({
      id: input.id,
      ownerId: input.ownerId,
      filename: opts.filename,
      contentType: opts.contentType,
      assetType: opts.assetType,
      metadata: input.metadata,
      uploadLength: input.length ?? null,
      chunkSize: opts.chunkSize,
      totalChunks: input.length === undefined ? null : totalChunks(input.length, opts.chunkSize),
      expiresAt: this.nextExpiry(),
    });
  }

  override async getUpload(id: string): Promise<Upload> {
    return this.toUpload(await this.findLive(id));
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const session = await this.findLive(id);
    if (session.status === 'completed') return session.uploadLength ?? offset;
    this.assertReceiving(session);
    if (offset !== session.uploadOffset) {
      throw new UploadError(
        'offset_conflict',
        `Upload-Offset ${offset} does not match the upload's offset ${session.uploadOffset}`,
      );
    }
    const file = await this.openDataFile(session);
    try {
      const hashes = this.hashes.take(id, offset) ?? (await this.rebuildHashes(file, session));
      const end = await writeChunks(stream, {
        file,
        chunkSize: session.chunkSize,
        length: session.uploadLength ?? undefined,
        start: offset,
        hashes,
        bufferSize: this.writeBufferSize,
        recorded: session.chunks,
        record: (at, chunks) => this.recordProgress(id, at, chunks),
      });
      this.hashes.put(id, hashes);
      return end;
    } catch (error) {
      this.hashes.forget(id);
      throw storageError(error);
    } finally {
      await file.close();
    }
  }

  /**
   * Stores chunk n whole, in any order and concurrently with other chunks (the REST chunk route).
   * Re-sending a stored chunk is a no-op when its bytes match and `invalid_chunk` when not.
   */
  async writeChunk(id: string, chunkNumber: number, stream: Readable): Promise<UploadSession> {
    const session = await this.findLive(id);
    if (session.status === 'completed') throw new UploadError('invalid_state', `upload ${id} is already completed`);
    this.assertReceiving(session);
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
    const file = await this.openDataFile(session);
    try {
      const put = await putChunk(file, stream, {
        chunkNumber,
        start,
        length: size,
        protectedEnd,
        bufferSize: this.writeBufferSize,
      });
      if (recorded) {
        if (put.digest !== recorded) throw differentChunk(chunkNumber);
        return session;
      }
      if (put.protectedDigest !== undefined) {
        const onDisk = sha256();
        await hashRange(file, start, protectedEnd, [onDisk]);
        if (onDisk.digest('hex') !== put.protectedDigest) throw differentChunk(chunkNumber);
      }
      const updated = await this.options.sessions.recordChunk(id, chunkNumber, put.digest, this.nextExpiry());
      if (!updated) throw new UploadError('invalid_state', `upload ${id} was paused or cancelled while receiving`);
      return updated;
    } catch (error) {
      throw storageError(error);
    } finally {
      await file.close();
    }
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    const session = await this.findLive(id);
    if (session.uploadLength !== null) {
      throw new UploadError('validation_error', 'Upload-Length is already set for this upload');
    }
    if (length < session.uploadOffset) {
      throw new UploadError('validation_error', `Upload-Length ${length} is below the offset ${session.uploadOffset}`);
    }
    await this.options.sessions.declareLength(id, length, totalChunks(length, session.chunkSize));
  }

  /** Termination: cancels the session and deletes its bytes. A completed upload is an asset now. */
  override async remove(id: string): Promise<void> {
    const session = await this.findLive(id);
    if (session.status === 'completed') {
      throw new UploadError(
        'invalid_state',
        `upload ${id} is completed; delete its asset ${session.assetId} through /storage/assets instead`,
      );
    }
    await this.cancel(id);
  }

  /** Cancels a session from any status the lifecycle allows and deletes its bytes. */
  async cancel(id: string): Promise<UploadSession> {
    const result = await this.options.sessions.transition(id, 'cancelled');
    if (!result.ok) {
      throw new UploadError(
        'invalid_state',
        `upload ${id} is ${result.current?.status ?? 'gone'} and cannot be cancelled`,
      );
    }
    await this.deleteData(id);
    return result.session;
  }

  /** Expires unfinished sessions whose last byte is older than the TTL, deleting their data. */
  override async deleteExpired(): Promise<number> {
    let removed = 0;
    for (const session of await this.options.sessions.findStale(new Date(), 1000)) {
      const result = await this.options.sessions.transition(session.id, 'expired');
      if (!result.ok) continue;
      await this.deleteData(session.id);
      removed++;
    }
    return removed;
  }

  override getExpiration(): number {
    return this.options.sessionTtlMs;
  }

  /** GET on a finished upload streams its asset. */
  async read(id: string): Promise<Readable> {
    const session = await this.findLive(id);
    const asset = session.status === 'completed' ? await this.options.assets.findBySession(id) : undefined;
    if (!asset) throw new UploadError('not_found', `upload ${id} is not finished`);
    return createReadStream(this.options.layout.resolve(asset.storagePath));
  }

  /** Verifies, moves and records a fully received upload as an asset; idempotent. */
  finalize(id: string): Promise<Asset> {
    return finalizeUpload({ ...this.options, hashes: this.hashes }, id);
  }

  private async findLive(id: string): Promise<UploadSession> {
    const session = isValidUploadId(id) ? await this.options.sessions.find(id) : undefined;
    if (!session) throw new UploadError('not_found', `upload ${id} not found`);
    if (session.status === 'cancelled' || session.status === 'expired' || session.status === 'failed') {
      const why = session.error ? `: ${session.error}` : '';
      throw new UploadError('gone', `upload ${id} is ${session.status}${why}`);
    }
    return session;
  }

  private assertReceiving(session: UploadSession): void {
    if (session.status === 'paused') {
      throw new UploadError('invalid_state', `upload ${session.id} is paused; resume it before sending data`);
    }
  }

  private toUpload(session: UploadSession): Upload {
    const completed = session.status === 'completed';
    return new Upload({
      id: session.id,
      size: session.uploadLength ?? undefined,
      offset: completed ? (session.uploadLength ?? session.uploadOffset) : session.uploadOffset,
      metadata: session.metadata,
      // @tus/server computes expiry as creation_date + TTL; we want it from the last byte, and
      // never for a completed upload (HEAD keeps answering 200 so clients see it finished).
      creation_date: completed
        ? undefined
        : new Date(session.expiresAt.getTime() - this.options.sessionTtlMs).toISOString(),
    });
  }

  private async recordProgress(id: string, offset: number, chunks: Record<string, string>): Promise<void> {
    const ok = await this.options.sessions.recordProgress(id, { offset, chunks, expiresAt: this.nextExpiry() });
    if (!ok) throw new UploadError('invalid_state', `upload ${id} was paused or cancelled while receiving`);
  }

  private async openDataFile(session: UploadSession): Promise<FileHandle> {
    const file = this.options.layout.uploadPath(session.id);
    try {
      return await open(file, 'r+');
    } catch (error) {
      if (!isNotFound(error) || session.uploadOffset > 0) throw storageError(error);
      return open(file, 'w+');
    }
  }

  /** Hash state at the session's offset, read back from disk when this process has none. */
  private async rebuildHashes(file: FileHandle, session: UploadSession): Promise<UploadHashes> {
    const offset = session.uploadOffset;
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

  private async deleteData(id: string): Promise<void> {
    this.hashes.forget(id);
    try {
      await unlink(this.options.layout.uploadPath(id));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private nextExpiry(): Date {
    return new Date(Date.now() + this.options.sessionTtlMs);
  }
}

function differentChunk(chunkNumber: number): UploadError {
  return new UploadError('invalid_chunk', `chunk ${chunkNumber} differs from the bytes already stored for it`);
}

/** Maps file system failures onto the error table; other errors pass through unchanged. */
function storageError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UploadError(
      'insufficient_storage',
      'the server is out of disk space; retry later, the upload keeps what it has',
    );
  }
  return error;
}
