// ChunkStore: a @tus/server DataStore over fixed-size numbered chunks. Each upload is one data file
// in which chunk n occupies bytes [(n-1)C, nC); its session row in PostgreSQL records the durable
// offset and every completed chunk with its sha256. The row, not the file size, is the truth about
// progress: it only moves after the bytes are synced, so a crash can lose unacknowledged bytes but
// never report bytes that are not there.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { DataStore, Upload } from '@tus/utils';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Asset, UploadMetadata, UploadSession, UploadStatus } from '../db/schema.js';
import type { SessionRepository } from '../db/session-repository.js';
import { ACTIVE_STATUSES } from '../db/status.js';
import { BlockPool } from './block-pool.js';
import type { ExpectedChecksum } from './checksum.js';
import { storeNumberedChunk } from './chunk-put.js';
import { writeChunks } from './chunk-writer.js';
import { totalChunks } from './chunking.js';
import { partsStream } from './concatenate.js';
import { UploadError } from './errors.js';
import { UploadEvents } from './events.js';
import { finalizeUpload } from './finalize.js';
import { HashStates } from './hash-state.js';
import { isValidUploadId, type StorageLayout } from './layout.js';
import { RequestContext } from './request-context.js';
import { sessionOptionsFrom } from './session-options.js';
import { storageError, UploadFiles } from './upload-files.js';

/** Advertised in Tus-Extension. */
export const CHUNK_STORE_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
  'checksum',
  'concatenation',
] as const;

const DEFAULT_WRITE_BLOCK = 256 * 1024;
// Free write blocks kept for reuse: enough for a few dozen uploads at full speed; beyond that
// blocks are made as needed and collected afterwards.
const KEPT_BLOCK_BYTES = 16 * 1024 * 1024;
// Blocks being written and hashed at once, across all uploads (see block-pool.ts): far more than
// one disk and one hashing thread work on at a time.
const IN_FLIGHT_BLOCK_BYTES = 8 * 1024 * 1024;

export interface ChunkStoreOptions {
  layout: StorageLayout;
  sessions: SessionRepository;
  assets: AssetRepository;
  defaultChunkSize: number;
  sessionTtlMs: number;
  /** Bytes gathered before each positional write (default 256 KiB). */
  writeBufferSize?: number;
}

export interface NewSessionInput {
  id: string;
  ownerId: string;
  length: number | undefined;
  metadata: UploadMetadata;
  concat?: 'partial' | 'final';
  parts?: string[];
}

export class ChunkStore extends DataStore {
  override extensions: string[] = [...CHUNK_STORE_EXTENSIONS];
  readonly hashes = new HashStates();
  readonly requests = new RequestContext();
  readonly events = new UploadEvents();
  private readonly files: UploadFiles;
  private readonly writeBufferSize: number;
  private readonly blocks: BlockPool;
  private started = 0;
  private readonly writing = new Map<Promise<unknown>, AbortController>();
  /** Offset each write in progress last recorded, to report bytes per progress event. */
  private readonly lastRecorded = new Map<string, number>();

  constructor(private readonly options: ChunkStoreOptions) {
    super();
    this.writeBufferSize = options.writeBufferSize ?? DEFAULT_WRITE_BLOCK;
    const blocksOf = (bytes: number) => Math.max(1, Math.floor(bytes / this.writeBufferSize));
    this.blocks = new BlockPool(this.writeBufferSize, blocksOf(KEPT_BLOCK_BYTES), blocksOf(IN_FLIGHT_BLOCK_BYTES));
    this.files = new UploadFiles(options.layout, this.hashes);
  }

  /** @tus/server 2.x looks the concatenation extension up under a misspelt name. */
  override hasExtension(extension: string): boolean {
    return extension === 'concatentation' ? this.extensions.includes('concatenation') : super.hasExtension(extension);
  }

  override async create(upload: Upload): Promise<Upload> {
    const { ownerId, partial } = this.requests.current;
    if (!ownerId) throw new UploadError('internal_error', 'upload created outside an authenticated request');
    const metadata = upload.metadata ?? {};
    const session = await this.createSession({
      id: upload.id,
      ownerId,
      length: upload.size,
      metadata,
      ...(partial === true ? { concat: 'partial' as const } : {}),
    });
    return this.toUpload(session);
  }

  /** Creates the session row and its empty data file. Shared by tus and the REST API. */
  async createSession(input: NewSessionInput): Promise<UploadSession> {
    if (!isValidUploadId(input.id)) throw new UploadError('validation_error', 'invalid upload id');
    const opts = sessionOptionsFrom(input.metadata, this.options.defaultChunkSize);
    const file = await open(this.options.layout.uploadPath(input.id), 'wx').catch((e: unknown) => {
      throw storageError(e);
    });
    await file.close();
    const session = await this.options.sessions.create({
      id: input.id,
      ownerId: input.ownerId,
      filename: opts.filename,
      contentType: opts.contentType,
      assetType: opts.assetType,
      metadata: input.metadata,
      uploadLength: input.length ?? null,
      chunkSize: opts.chunkSize,
      totalChunks: input.length === undefined ? null : totalChunks(input.length, opts.chunkSize),
      concat: input.concat ?? null,
      parts: input.parts ?? null,
      expiresAt: this.nextExpiry(),
    });
    this.events.emit('created', session);
    return session;
  }

  override async getUpload(id: string): Promise<Upload> {
    const request = this.requests.current;
    const prefetched = request.prefetched?.id === id ? request.prefetched : undefined;
    const session = prefetched ? this.assertLive(prefetched) : await this.findLive(id);
    request.loaded = session;
    return this.toUpload(session);
  }

  override async write(stream: Readable | AsyncIterable<Buffer>, id: string, offset: number): Promise<number> {
    // @tus/server reads the upload (getUpload) under the same lock just before writing
    const { loaded, declaredLength } = this.requests.current;
    let session = loaded?.id === id ? loaded : await this.findLive(id);
    if (session.status === 'completed') return session.uploadLength ?? offset;
    this.assertReceiving(session);
    if (offset !== session.uploadOffset) {
      throw new UploadError(
        'offset_conflict',
        `Upload-Offset ${offset} does not match the upload's offset ${session.uploadOffset}`,
      );
    }
    // a length this PATCH declares bounds its bytes now and is stored once they are
    const declaring = declaredLength !== undefined && session.uploadLength === null;
    if (declaring) {
      session = {
        ...session,
        uploadLength: declaredLength,
        totalChunks: totalChunks(declaredLength, session.chunkSize),
      };
    }
    const target = session;
    const end = await this.track((stop) => this.writeAt(target, stream, this.requests.current.checksum, stop));
    if (declaring) await this.options.sessions.declareLength(id, declaredLength, target.totalChunks ?? 0);
    return end;
  }

  /** Stores chunk n whole (the REST chunk route): any order, several at once. */
  async writeChunk(
    id: string,
    chunkNumber: number,
    stream: Readable,
    checksum?: ExpectedChecksum,
  ): Promise<UploadSession> {
    const session = await this.findLive(id);
    if (session.status === 'completed') throw new UploadError('invalid_state', `upload ${id} is already completed`);
    this.assertReceiving(session);
    const deps = {
      files: this.files,
      sessions: this.options.sessions,
      events: this.events,
      bufferSize: this.writeBufferSize,
      nextExpiry: () => this.nextExpiry(),
    };
    return this.track(() => storeNumberedChunk(deps, session, chunkNumber, stream, checksum));
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    const session = await this.findLive(id);
    if (session.uploadLength !== null) {
      throw new UploadError('validation_error', 'Upload-Length is already set for this upload');
    }
    if (length < session.uploadOffset) {
      throw new UploadError('validation_error', `Upload-Length ${length} is below the offset ${session.uploadOffset}`);
    }
    if (this.requests.active) {
      // a tus PATCH: stored by write() with the bytes, so a PATCH refused before or while writing
      // (413, checksum mismatch) leaves the upload as it was
      this.requests.current.declaredLength = length;
      return;
    }
    await this.options.sessions.declareLength(id, length, totalChunks(length, session.chunkSize));
    this.requests.current.loaded = undefined;
  }

  /** Termination: cancels the session and deletes its bytes. A completed upload is an asset now. */
  override async remove(id: string): Promise<void> {
    const session = await this.findLive(id);
    if (session.status === 'completed') {
      throw new UploadError(
        'invalid_state',
        session.assetId
          ? `upload ${id} is completed; delete its asset ${session.assetId} through /storage/assets instead`
          : `upload ${id} is completed and its asset was deleted`,
      );
    }
    await this.cancel(id);
  }

  /** Cancels a session from any status the lifecycle allows and deletes its bytes. */
  async cancel(id: string): Promise<UploadSession> {
    const session = await this.transition(id, 'cancelled');
    await this.files.remove(id);
    return session;
  }

  /**
   * Moves a session along the lifecycle (pause, resume, fail, ...), announcing the change;
   * `invalid_state` when the current status does not allow it.
   */
  async transition(id: string, to: UploadStatus, error?: string): Promise<UploadSession> {
    const result = await this.options.sessions.transition(id, to, error === undefined ? {} : { error });
    if (!result.ok) {
      const current = result.current?.status ?? 'gone';
      throw new UploadError('invalid_state', `upload ${id} is ${current} and cannot become ${to}`);
    }
    this.events.status(result.session);
    return result.session;
  }

  /** Expires unfinished sessions whose last byte is older than the TTL, deleting their data. */
  override async deleteExpired(): Promise<number> {
    let removed = 0;
    for (;;) {
      const stale = await this.options.sessions.findStale(new Date(), 500);
      let changed = 0;
      for (const session of stale) {
        const result = await this.options.sessions.transition(session.id, 'expired');
        if (!result.ok) continue;
        this.events.status(result.session);
        await this.files.remove(session.id);
        changed++;
      }
      removed += changed;
      if (stale.length < 500 || changed === 0) return removed;
    }
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
  finalize(id: string, loaded?: UploadSession): Promise<Asset> {
    return finalizeUpload({ ...this.options, hashes: this.hashes, events: this.events }, id, loaded);
  }

  /** What the tus finish hook calls: partial uploads wait for their final upload instead. */
  async finish(id: string): Promise<Asset | undefined> {
    const session = await this.findLive(id);
    return session.concat === 'partial' ? undefined : this.finalize(id, session);
  }

  /**
   * Joins a final upload's parts into its data file (resuming from its durable offset), finalises
   * it, and marks the parts used up and deletes their files.
   */
  async concatenate(finalId: string): Promise<Asset> {
    const session = await this.findLive(finalId);
    const ids = session.parts ?? [];
    const found = new Map((await this.options.sessions.findMany(ids)).map((p) => [p.id, p]));
    const parts = ids.map((id) => found.get(id));
    if (session.status !== 'completed') {
      if (parts.some((p) => !p)) throw new UploadError('gone', `a part of upload ${finalId} no longer exists`);
      const stream = partsStream(this.options.layout, parts as UploadSession[], session.uploadOffset);
      try {
        await this.write(stream, finalId, session.uploadOffset);
      } finally {
        // the writer leaves its source open when it stops early; close the part files
        stream.destroy();
      }
    }
    const asset = await this.finalize(finalId);
    await this.options.sessions.consumeParts(ids, asset.id);
    for (const id of ids) await this.files.remove(id);
    return asset;
  }

  /** Writes begun since start (tus PATCH, REST chunks, concatenation). */
  get writesStarted(): number {
    return this.started;
  }

  get writesInProgress(): number {
    return this.writing.size;
  }

  /** Bytes of write blocks kept for reuse. */
  get keptBufferBytes(): number {
    return this.blocks.keptBytes;
  }

  /** Lets go of the write blocks kept for reuse (when idle). */
  releaseBuffers(): void {
    this.blocks.clear();
  }

  /** Asks every write in progress to stop at the next block and commit what it has. */
  stopWriting(): void {
    for (const controller of this.writing.values()) controller.abort();
  }

  /** Resolves when no write is in progress (or after `timeoutMs`). */
  async idle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.writing.size > 0 && Date.now() < deadline) {
      const timer = new Promise((resolve) => setTimeout(resolve, Math.max(1, deadline - Date.now())));
      await Promise.race([Promise.allSettled([...this.writing.keys()]), timer]);
    }
  }

  private async writeAt(
    session: UploadSession,
    stream: Readable | AsyncIterable<Buffer>,
    checksum: ExpectedChecksum | undefined,
    stop: AbortSignal,
  ): Promise<number> {
    const { id } = session;
    const file = await this.files.open(session);
    try {
      const hasher = await this.files.hasherAt(session);
      const end = await writeChunks(stream, {
        file,
        chunkSize: session.chunkSize,
        length: session.uploadLength ?? undefined,
        start: session.uploadOffset,
        hasher,
        blocks: this.blocks,
        recorded: session.chunks,
        record: (at, chunks) => this.recordProgress(session, at, chunks),
        checksum,
        stop,
      });
      this.hashes.keep(hasher);
      return end;
    } catch (error) {
      this.hashes.forget(id);
      // a creation whose bytes were refused gave the client no URL to resume: leave nothing behind
      if (this.requests.current.creating) await this.cancel(id).catch(() => {});
      throw storageError(error);
    } finally {
      this.lastRecorded.delete(id);
      await file.close();
    }
  }

  private track<T>(work: (stop: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.started++;
    const promise = work(controller.signal);
    this.writing.set(promise, controller);
    promise.then(
      () => this.writing.delete(promise),
      () => this.writing.delete(promise),
    );
    return promise;
  }

  private async findLive(id: string): Promise<UploadSession> {
    const session = isValidUploadId(id) ? await this.options.sessions.find(id) : undefined;
    if (!session) throw new UploadError('not_found', `upload ${id} not found`);
    return this.assertLive(session);
  }

  private assertLive(session: UploadSession): UploadSession {
    const { id } = session;
    if (session.status === 'cancelled' || session.status === 'expired' || session.status === 'failed') {
      const why = session.error ? `: ${session.error}` : '';
      throw new UploadError('gone', `upload ${id} is ${session.status}${why}`);
    }
    // past its TTL it is gone already, even before the sweep marks it expired
    if (ACTIVE_STATUSES.includes(session.status) && session.expiresAt.getTime() <= Date.now()) {
      throw new UploadError('gone', `upload ${id} expired: it received nothing for longer than the session TTL`);
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
      creation_date: completed ? undefined : this.expiryClockStart(session),
    });
  }

  /**
   * @tus/server takes an upload as expired once creation_date + TTL has passed, and announces
   * that moment in Upload-Expires. We count expiry from the last byte received and never expire a
   * completed upload (HEAD keeps answering 200 so clients see it finished). So: a completed upload
   * has no creation_date; an expired one gets the date that makes it expired; a live one gets
   * "now", since a request on it is about to restart its clock.
   */
  private expiryClockStart(session: UploadSession): string {
    const now = Date.now();
    const expires = session.expiresAt.getTime();
    return new Date(expires <= now ? expires - this.options.sessionTtlMs : now).toISOString();
  }

  private async recordProgress(session: UploadSession, offset: number, chunks: Record<string, string>): Promise<void> {
    const { id } = session;
    const ok = await this.options.sessions.recordProgress(id, { offset, chunks, expiresAt: this.nextExpiry() });
    if (!ok) throw new UploadError('invalid_state', `upload ${id} was paused or cancelled while receiving`);
    const previous = this.lastRecorded.get(id) ?? session.uploadOffset;
    this.lastRecorded.set(id, offset);
    this.events.emit('progress', {
      id,
      ownerId: session.ownerId,
      offset,
      length: session.uploadLength,
      bytes: Math.max(0, offset - previous),
      chunks: Object.keys(chunks).map(Number),
    });
  }

  private nextExpiry(): Date {
    return new Date(Date.now() + this.options.sessionTtlMs);
  }
}
