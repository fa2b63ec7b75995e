// UploadService: the session lifecycle that tus, the REST API and single-shot uploads share. Every
// operation takes the caller's owner id and refuses a session or asset of someone else's, so a
// routing mistake cannot leak data; every operation that writes bytes or changes a session holds
// the upload's lock (exclusive; REST chunks share it and lock their chunk number). Each upload is
// one data file in which chunk n occupies bytes [(n-1)C, nC); its session row records the durable
// offset and every completed chunk with its sha256, and moves only after the bytes are synced.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Asset, UploadMetadata, UploadSession, UploadStatus } from '../db/schema.js';
import type { SessionRepository } from '../db/session-repository.js';
import { totalChunks } from './chunking.js';
import { UploadError } from './errors.js';
import { UploadEvents } from './events.js';
import {
  createFinalUpload,
  type FinalUpload,
  type JoinDeps,
  joinFinal,
  joinWaitingFinals,
} from './finish/concatenate.js';
import { finalizeUpload } from './finish/finalize.js';
import { assertLive, ownAsset, ownSession } from './lifecycle.js';
import { chunkLockKey, type LockRequest, type UploadLocker, withLock } from './lock/upload-locker.js';
import { sessionOptionsFrom } from './session-options.js';
import type { ChunkStorage } from './storage/chunk-storage.js';
import { isValidUploadId } from './storage/layout.js';
import type { UploadPolicy } from './upload-policy.js';
import { BlockPool } from './write/block-pool.js';
import type { BodyCheck, ExpectedChecksum } from './write/checksum.js';
import { storeNumberedChunk } from './write/chunk-put.js';
import { GroupCommitter } from './write/group-committer.js';
import { HashStates } from './write/hash-state.js';
import { UploadWriter, type WriteTarget } from './write/upload-writer.js';

export interface UploadServiceOptions {
  storage: ChunkStorage;
  sessions: SessionRepository;
  assets: AssetRepository;
  locker: UploadLocker;
  policy: UploadPolicy;
  defaultChunkSize: number;
  sessionTtlMs: number;
  /** Bytes gathered before each positional write (default 256 KiB). */
  writeBufferSize?: number;
  /** How long a writer asked to let go of its lock may go on before its body is ended (default 3 s). */
  lockDrainMs?: number;
}

export interface NewUpload {
  length: number | undefined;
  metadata: UploadMetadata;
  concat?: 'partial' | 'final';
  parts?: string[];
}

export interface AppendInput {
  /** Where the caller believes the upload stands; checked under the lock. */
  offset: number;
  body: Readable | AsyncIterable<Buffer>;
  checksum?: BodyCheck | undefined;
  /** A deferred Upload-Length declared with this body; stored only once its bytes are. */
  declaredLength?: number | undefined;
  /** This body ends the upload: a length not known yet becomes the offset it ends at. */
  ends?: boolean;
  /** The creating request's own body: refused bytes take the new upload with them. */
  creating?: boolean;
  /** The client went away while the request waited for the lock. */
  signal?: AbortSignal | undefined;
  /** Aborted once another request has asked for the upload and the drain time is over. */
  release?: AbortController | undefined;
}

export interface AppendResult {
  session: UploadSession;
  /** Set when these bytes completed the upload and it became an asset. */
  asset: Asset | undefined;
}

const DEFAULT_WRITE_BLOCK = 256 * 1024;
// Free write blocks kept for reuse: enough for a few dozen uploads at full speed.
const KEPT_BLOCK_BYTES = 16 * 1024 * 1024;
// Blocks being written and hashed at once, across all uploads (see block-pool.ts).
const IN_FLIGHT_BLOCK_BYTES = 8 * 1024 * 1024;
const LOCK_DRAIN_MS = 3000;

export class UploadService {
  readonly hashes = new HashStates();
  readonly events = new UploadEvents();
  readonly policy: UploadPolicy;
  readonly storage: ChunkStorage;
  private readonly writer: UploadWriter;
  private readonly sessions: SessionRepository;

  constructor(private readonly options: UploadServiceOptions) {
    const blockSize = options.writeBufferSize ?? DEFAULT_WRITE_BLOCK;
    const blocksOf = (bytes: number) => Math.max(1, Math.floor(bytes / blockSize));
    const blocks = new BlockPool(blockSize, blocksOf(KEPT_BLOCK_BYTES), blocksOf(IN_FLIGHT_BLOCK_BYTES));
    this.storage = options.storage;
    this.sessions = options.sessions;
    this.policy = options.policy;
    this.writer = new UploadWriter({
      storage: this.storage,
      hashes: this.hashes,
      sessions: options.sessions,
      events: this.events,
      blocks,
      committer: new GroupCommitter((entries) => options.sessions.recordProgressBatch(entries)),
      nextExpiry: () => this.nextExpiry(),
    });
  }

  get sessionTtlMs(): number {
    return this.options.sessionTtlMs;
  }

  /** The caller's session, whatever its status; `not_found` or `forbidden` otherwise. */
  get(ownerId: string, id: string): Promise<UploadSession> {
    return ownSession(this.sessions, ownerId, id);
  }

  /** The caller's asset; `not_found` or `forbidden` otherwise. */
  getAsset(ownerId: string, id: string): Promise<Asset> {
    return ownAsset(this.options.assets, ownerId, id);
  }

  /**
   * Creates a session and its empty data file, within the owner's caps and the limit of the
   * upload's asset type (concatenation parts included). Shared by tus, REST and single-shot.
   */
  async create(ownerId: string, input: NewUpload): Promise<UploadSession> {
    const opts = sessionOptionsFrom(input.metadata, this.options.defaultChunkSize);
    this.policy.assertSize(opts.assetType, input.length);
    const id = randomBytes(16).toString('hex');
    const { filename, contentType, chunkSize } = opts;
    await this.storage.create(id, { ownerId, filename, contentType, chunkSize, length: input.length });
    const created = await this.sessions.createWithinLimits(
      {
        id,
        ownerId,
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
      },
      this.policy.creationLimits(),
    );
    if (!created.ok) {
      await this.storage.remove(id);
      throw created.limit === 'active'
        ? this.policy.activeCapReached()
        : this.policy.rateLimitReached(created.oldestCounted);
    }
    this.events.emit('created', created.session);
    return created.session;
  }

  /**
   * Appends a body at `input.offset` (tus PATCH, a creation's body, single-shot uploads). Holds
   * the upload exclusively; when the bytes complete the upload it is finalised under the same
   * lock. Returns the session as stored afterwards.
   */
  async append(ownerId: string, id: string, input: AppendInput): Promise<AppendResult> {
    let drain: NodeJS.Timeout | undefined;
    const lock: LockRequest = {
      mode: 'exclusive',
      signal: input.signal,
      onReleaseRequested: () => {
        drain ??= setTimeout(() => input.release?.abort(), this.options.lockDrainMs ?? LOCK_DRAIN_MS);
      },
    };
    let result: AppendResult;
    try {
      result = await withLock(this.options.locker, id, lock, () => this.appendLocked(ownerId, id, input));
    } finally {
      clearTimeout(drain);
    }
    if (result.session.concat === 'partial') await this.partAppended(result.session);
    return result;
  }

  /** Stores chunk n whole (the REST chunk route): any order, several at once. */
  async putChunk(
    ownerId: string,
    id: string,
    chunkNumber: number,
    body: Readable,
    checksum?: ExpectedChecksum,
  ): Promise<UploadSession> {
    const shared: LockRequest = { mode: 'shared' };
    return withLock(this.options.locker, id, shared, () =>
      withLock(this.options.locker, chunkLockKey(id, chunkNumber), { mode: 'exclusive' }, async () => {
        const session = assertLive(await this.get(ownerId, id));
        if (session.status === 'completed') throw new UploadError('invalid_state', `upload ${id} is already completed`);
        assertReceiving(session);
        return this.writer.track(() => storeNumberedChunk(this.writer.deps, session, chunkNumber, body, checksum));
      }),
    );
  }

  /** Finalises a fully received upload into an asset (REST complete); idempotent. */
  complete(ownerId: string, id: string): Promise<Asset> {
    return this.exclusively(id, async () => {
      await this.get(ownerId, id);
      return this.finalize(ownerId, id);
    });
  }

  /** Pause, resume and cancel (REST), and failing a session: moves it along the lifecycle. */
  transition(ownerId: string, id: string, to: UploadStatus): Promise<UploadSession> {
    return this.exclusively(id, async () => {
      const session = await this.get(ownerId, id);
      if (session.status === 'completed') {
        throw new UploadError('invalid_state', `upload session ${id} is completed and cannot become ${to}`);
      }
      if (to === 'uploading' && session.status !== 'paused') {
        throw new UploadError('invalid_state', `cannot resume upload session ${id}: it is ${session.status}`);
      }
      const changed = await this.changeStatus(ownerId, id, to);
      if (to === 'cancelled') await this.removeData(id);
      return changed;
    });
  }

  /**
   * tus termination (and the draft's cancellation): cancels an unfinished upload and deletes its
   * bytes. A completed upload's URL is retired the same way, but its bytes are its asset now, which
   * has a life of its own (/storage/assets): the asset stays, and the session says so.
   */
  terminate(ownerId: string, id: string): Promise<UploadSession> {
    return this.exclusively(id, async () => {
      const session = assertLive(await this.get(ownerId, id));
      if (session.status === 'completed') {
        const kept = session.assetId ? `; its asset ${session.assetId} is kept` : '';
        return this.changeStatus(ownerId, id, 'cancelled', `terminated after it completed${kept}`);
      }
      const cancelled = await this.changeStatus(ownerId, id, 'cancelled');
      await this.removeData(id);
      return cancelled;
    });
  }

  /** Expires unfinished sessions whose last byte is older than the TTL, deleting their data. */
  async expireStale(): Promise<number> {
    let removed = 0;
    for (;;) {
      const stale = await this.sessions.findStale(new Date(), 500);
      let changed = 0;
      for (const session of stale) if (await this.expire(session)) changed++;
      removed += changed;
      if (stale.length < 500 || changed === 0) return removed;
    }
  }

  /** Verifies, moves and records a fully received upload as an asset; the caller holds the lock. */
  finalize(ownerId: string, id: string, loaded?: UploadSession): Promise<Asset> {
    return finalizeUpload(
      { ...this.options, hashes: this.hashes, events: this.events },
      { ownerId, sessionId: id, loaded },
    );
  }

  /** Repairs an interrupted finalise after a restart (the server's own work, under the lock). */
  repairFinalize(session: UploadSession): Promise<Asset> {
    return this.exclusively(session.id, () => this.finalize(session.ownerId, session.id));
  }

  /** Marks a session failed (the server's own work: repair after a restart). */
  fail(session: UploadSession, error: string): Promise<UploadSession> {
    return this.changeStatus(session.ownerId, session.id, 'failed', error);
  }

  /** Runs `work` holding the upload alone (the lock of its id). */
  exclusively<T>(id: string, work: () => Promise<T>): Promise<T> {
    if (!isValidUploadId(id)) return Promise.reject(new UploadError('not_found', `upload ${id} not found`));
    return withLock(this.options.locker, id, { mode: 'exclusive' }, work);
  }

  /** tus concatenation: a final upload made of the caller's partial uploads, finished or not. */
  concatenate(ownerId: string, input: FinalUpload): Promise<AppendResult> {
    return createFinalUpload(this.joinDeps(), ownerId, input);
  }

  /** Joins a final upload whose parts have all finished (after a restart, or a part's last bytes). */
  joinFinal(ownerId: string, finalId: string): Promise<AppendResult> {
    return joinFinal(this.joinDeps(), ownerId, finalId);
  }

  /** Bytes the parts of an unfinished final upload hold so far: how far the final has come. */
  async partsReceived(final: UploadSession): Promise<number> {
    const parts = await this.sessions.findMany(final.parts ?? []);
    return parts.filter((p) => p.ownerId === final.ownerId).reduce((sum, p) => sum + p.uploadOffset, 0);
  }

  /** Deletes the caller's asset: the row first, so a crash in between leaves an orphan file, not a dangling row. */
  async deleteAsset(ownerId: string, id: string): Promise<void> {
    const asset = await this.getAsset(ownerId, id);
    if (!(await this.options.assets.delete(ownerId, asset.id))) return;
    await this.storage.removeAsset(asset.storagePath);
  }

  /** Gives the caller's asset another type, if its size fits that type's limit. */
  async retypeAsset(ownerId: string, id: string, assetType: string): Promise<Asset> {
    const asset = await this.getAsset(ownerId, id);
    this.policy.assertSize(assetType, asset.size);
    return (await this.options.assets.setAssetType(ownerId, id, assetType)) ?? asset;
  }

  /** Writes in progress, shutdown and idle memory: see UploadWriter. */
  get writes(): UploadWriter {
    return this.writer;
  }

  private joinDeps(): JoinDeps {
    return {
      storage: this.storage,
      sessions: this.sessions,
      locker: this.options.locker,
      create: (owner, upload) => this.create(owner, upload),
      exclusively: (id, work) => this.exclusively(id, work),
      appendHeld: (owner, id, append) => this.appendLocked(owner, id, append),
      findAssetOf: (id) => this.options.assets.findBySession(id),
      removeData: (id) => this.removeData(id),
    };
  }

  /** After bytes reached a part: the finals waiting on it (concatenate.ts). */
  private partAppended(part: UploadSession): Promise<void> {
    return joinWaitingFinals(this.joinDeps(), part, this.nextExpiry(), (final, error) =>
      this.fail(final, error).then(() => {}),
    );
  }

  private async appendLocked(ownerId: string, id: string, input: AppendInput): Promise<AppendResult> {
    let session = assertLive(await this.get(ownerId, id));
    if (session.status === 'completed') {
      const length = session.uploadLength ?? session.uploadOffset;
      if (input.offset !== length) {
        throw new UploadError(
          'offset_conflict',
          `Upload-Offset ${input.offset} does not match the upload's offset ${length}`,
        );
      }
      return { session, asset: await this.options.assets.findBySession(id) };
    }
    assertReceiving(session);
    if (input.offset !== session.uploadOffset) {
      throw new UploadError(
        'offset_conflict',
        `Upload-Offset ${input.offset} does not match the upload's offset ${session.uploadOffset}`,
      );
    }
    const declared = this.declaredLength(session, input.declaredLength);
    const target: WriteTarget = {
      session,
      length: declared ?? session.uploadLength ?? undefined,
      maxLength: this.policy.limitFor(session.assetType),
      ends: input.ends === true,
    };
    let end: number;
    let row: UploadSession | undefined;
    try {
      ({ end, row } = await this.writer.write(target, input.body, input.checksum));
    } catch (error) {
      // a creation whose bytes were refused gave the client no URL to resume: leave nothing behind
      if (input.creating) await this.cancelQuietly(ownerId, id);
      throw error;
    }
    const length = declared ?? (input.ends && session.uploadLength === null ? end : undefined);
    if (length !== undefined) {
      await this.sessions.declareLength(ownerId, id, length, totalChunks(length, session.chunkSize));
      session = await this.get(ownerId, id);
    } else {
      // the last commit returned the row as stored; with nothing committed it did not change
      session = row ?? session;
    }
    const done = session.uploadLength !== null && session.uploadOffset === session.uploadLength;
    const asset = done && session.concat !== 'partial' ? await this.finalize(ownerId, id, session) : undefined;
    return { session: asset ? await this.get(ownerId, id) : session, asset };
  }

  /** A deferred length this body declares, checked against the session. */
  private declaredLength(session: UploadSession, declared: number | undefined): number | undefined {
    if (declared === undefined) return undefined;
    if (session.uploadLength !== null) {
      throw new UploadError('validation_error', 'Upload-Length is already set for this upload');
    }
    if (declared < session.uploadOffset) {
      throw new UploadError(
        'validation_error',
        `Upload-Length ${declared} is below the offset ${session.uploadOffset}`,
      );
    }
    this.policy.assertSize(session.assetType, declared);
    return declared;
  }

  private async expire(session: UploadSession): Promise<boolean> {
    // only if nobody is using it right now, and without asking anyone to stop
    const lock: LockRequest = { mode: 'exclusive', polite: true, timeoutMs: 0 };
    try {
      return await withLock(this.options.locker, session.id, lock, async () => {
        const result = await this.sessions.transition(session.ownerId, session.id, 'expired');
        if (!result.ok) return false;
        this.events.status(result.session);
        await this.removeData(session.id);
        return true;
      });
    } catch (error) {
      // busy right now: a request is using it, so it is not stale; the next sweep looks again
      if (error instanceof UploadError && error.type === 'locked') return false;
      throw error;
    }
  }

  private async changeStatus(ownerId: string, id: string, to: UploadStatus, error?: string): Promise<UploadSession> {
    const result = await this.sessions.transition(ownerId, id, to, error === undefined ? {} : { error });
    if (!result.ok) {
      const current = result.current?.status ?? 'gone';
      throw new UploadError('invalid_state', `upload ${id} is ${current} and cannot become ${to}`);
    }
    this.events.status(result.session);
    return result.session;
  }

  private async cancelQuietly(ownerId: string, id: string): Promise<void> {
    try {
      await this.changeStatus(ownerId, id, 'cancelled');
      await this.removeData(id);
    } catch {
      // the request's own error is what the client needs to see; a session left behind expires
    }
  }

  private async removeData(id: string): Promise<void> {
    this.hashes.forget(id);
    await this.storage.remove(id);
  }

  private nextExpiry(): Date {
    return new Date(Date.now() + this.options.sessionTtlMs);
  }
}

function assertReceiving(session: UploadSession): void {
  if (session.status === 'paused') {
    throw new UploadError('invalid_state', `upload ${session.id} is paused; resume it before sending data`);
  }
}
