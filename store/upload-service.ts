// UploadService: the session lifecycle that tus, the REST API and single-shot uploads share. Every
// operation takes the caller's owner id and refuses a session or asset of someone else's, so a
// routing mistake cannot leak data; every operation that writes bytes or changes a session holds
// the upload's lock (exclusive; REST chunks share it and lock their chunk number). Each upload is
// one data file in which chunk n occupies bytes [(n-1)C, nC); its session row records the durable
// offset and every completed chunk with its sha256, and moves only after the bytes are synced.
import type { Readable } from 'node:stream';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Asset, UploadSession, UploadStatus } from '../db/schema.js';
import type { SessionIdentity } from '../db/session-identities.js';
import type { SessionRepository } from '../db/session-repository.js';
import { type AppendInput, type AppendResult, appendHeld, assertReceiving } from './append.js';
import { type AssetDeps, deleteAsset, retypeAsset } from './assets.js';
import { UploadError } from './errors.js';
import { UploadEvents } from './events.js';
import { expireStale } from './expiry.js';
import {
  createFinalUpload,
  type FinalUpload,
  type JoinDeps,
  joinFinal,
  joinWaitingFinals,
  partsReceived,
} from './finish/concatenate.js';
import { type Finalized, finalizeUpload } from './finish/finalize.js';
import { HeldSessions } from './held-sessions.js';
import { assertLive, ownAsset, ownIdentity, ownSession } from './lifecycle.js';
import { chunkLockKey, type LockRequest, type UploadLocker, withLock } from './lock/upload-locker.js';
import { type NewUpload, newSessionRow } from './session-options.js';
import { cancelQuietly, changeStatus, type StatusDeps, terminateHeld, transitionHeld } from './status-change.js';
import type { ChunkStorage } from './storage/chunk-storage.js';
import { isValidUploadId } from './storage/layout.js';
import type { UploadPolicy } from './upload-policy.js';
import { writeBlockPool } from './write/block-pool.js';
import type { ExpectedChecksum } from './write/checksum.js';
import { storeNumberedChunk } from './write/chunk-put.js';
import { GroupCommitter } from './write/group-committer.js';
import { HashStates } from './write/hash-state.js';
import { UploadWriter } from './write/upload-writer.js';

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

export type { AppendInput, AppendResult } from './append.js';
export type { NewUpload } from './session-options.js';

const LOCK_DRAIN_MS = 3000;

export class UploadService {
  readonly hashes = new HashStates();
  readonly events = new UploadEvents();
  readonly policy: UploadPolicy;
  readonly storage: ChunkStorage;
  private readonly writer: UploadWriter;
  private readonly sessions: SessionRepository;
  private readonly status: StatusDeps;
  private readonly held = new HeldSessions();

  constructor(private readonly options: UploadServiceOptions) {
    this.storage = options.storage;
    this.sessions = options.sessions;
    this.policy = options.policy;
    this.writer = new UploadWriter({
      storage: this.storage,
      hashes: this.hashes,
      sessions: options.sessions,
      events: this.events,
      blocks: writeBlockPool(options.writeBufferSize),
      committer: new GroupCommitter(async (entries) => {
        const rows = await options.sessions.recordProgressBatch(entries);
        for (const row of rows) this.held.update(row);
        return rows;
      }),
      nextExpiry: () => this.nextExpiry(),
    });
    this.status = { sessions: this.sessions, events: this.events, removeData: (id) => this.removeData(id) };
  }

  get sessionTtlMs(): number {
    return this.options.sessionTtlMs;
  }

  /** The caller's session, whatever its status; `not_found` or `forbidden` otherwise. */
  get(ownerId: string, id: string): Promise<UploadSession> {
    return ownSession(this.sessions, ownerId, id);
  }

  /**
   * The caller's session as stored, for a reader that takes no lock (HEAD): while this instance
   * appends to it, the appender's own copy (held-sessions.ts), else read.
   */
  async current(ownerId: string, id: string): Promise<UploadSession> {
    const held = this.held.get(id);
    return held?.ownerId === ownerId ? held : ownSession(this.sessions, ownerId, id, { toAnswer: true });
  }

  /**
   * What never changes about the caller's session, often without a database read: for checks a
   * write makes before it asks for the lock (it reads the session again under the lock).
   */
  identify(ownerId: string, id: string): Promise<SessionIdentity> {
    return ownIdentity(this.sessions, ownerId, id);
  }

  /** The caller's asset; `not_found` or `forbidden` otherwise. */
  getAsset(ownerId: string, id: string): Promise<Asset> {
    return ownAsset(this.options.assets, ownerId, id);
  }

  private assetDeps(): AssetDeps {
    return { assets: this.options.assets, storage: this.storage, policy: this.policy };
  }

  /**
   * Creates a session and its empty data file, within the owner's caps and the limit of the
   * upload's asset type (concatenation parts included). Shared by tus, REST and single-shot.
   */
  async create(ownerId: string, input: NewUpload): Promise<UploadSession> {
    const row = newSessionRow(ownerId, input, this.options.defaultChunkSize, this.nextExpiry());
    this.policy.assertSize(row.assetType, input.length);
    const { ownerId: owner, filename, contentType, chunkSize } = row;
    await this.storage.create(row.id, {
      ownerId: owner,
      filename,
      contentType: contentType ?? null,
      chunkSize,
      length: input.length,
    });
    const created = await this.sessions.createWithinLimits(row, this.policy.creationLimits());
    if (!created.ok) {
      await this.storage.remove(row.id);
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
      result = await withLock(this.options.locker, id, lock, async () => {
        this.held.hold(id);
        try {
          return await this.appendLocked(ownerId, id, input);
        } finally {
          this.held.release(id);
        }
      });
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
      return (await this.finalize(ownerId, id)).asset;
    });
  }

  /** Pause, resume and cancel (REST): moves a session along the lifecycle (status-change.ts). */
  transition(ownerId: string, id: string, to: UploadStatus): Promise<UploadSession> {
    return this.exclusively(id, async () => transitionHeld(this.status, await this.get(ownerId, id), to));
  }

  /** tus termination and the draft's cancellation (status-change.ts). */
  terminate(ownerId: string, id: string): Promise<UploadSession> {
    return this.exclusively(id, async () => terminateHeld(this.status, assertLive(await this.get(ownerId, id))));
  }

  /** Expires unfinished sessions whose last byte is older than the TTL, deleting their data. */
  expireStale(): Promise<number> {
    return expireStale({
      sessions: this.sessions,
      locker: this.options.locker,
      expired: (session) => this.events.status(session),
      removeData: (id) => this.removeData(id),
    });
  }

  /** Verifies, moves and records a fully received upload as an asset; the caller holds the lock. */
  finalize(ownerId: string, id: string, loaded?: UploadSession): Promise<Finalized> {
    return finalizeUpload(
      { ...this.options, hashes: this.hashes, events: this.events },
      { ownerId, sessionId: id, loaded },
    );
  }

  /** Repairs an interrupted finalise after a restart (the server's own work, under the lock). */
  repairFinalize(session: UploadSession): Promise<Asset> {
    return this.exclusively(session.id, async () => (await this.finalize(session.ownerId, session.id)).asset);
  }

  /** Marks a session failed (the server's own work: repair after a restart). */
  fail(session: UploadSession, error: string): Promise<UploadSession> {
    return changeStatus(this.status, session, 'failed', error);
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
  partsReceived(final: UploadSession): Promise<number> {
    return partsReceived(this.sessions, final);
  }

  /** Deletes the caller's asset (see assets.ts). */
  deleteAsset(ownerId: string, id: string): Promise<void> {
    return deleteAsset(this.assetDeps(), ownerId, id);
  }

  /** Gives the caller's asset another type, if its size fits that type's limit. */
  retypeAsset(ownerId: string, id: string, assetType: string): Promise<Asset> {
    return retypeAsset(this.assetDeps(), ownerId, id, assetType);
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

  private appendLocked(ownerId: string, id: string, input: AppendInput): Promise<AppendResult> {
    return appendHeld(
      {
        get: async (owner, upload) => this.held.update(await this.get(owner, upload)),
        sessions: this.sessions,
        assets: this.options.assets,
        policy: this.policy,
        writer: this.writer,
        finalize: async (owner, upload, loaded) => {
          try {
            const finalized = await this.finalize(owner, upload, loaded);
            this.held.update(finalized.session);
            return finalized;
          } catch (error) {
            this.held.release(upload); // it may have failed the session: HEAD reads it again
            throw error;
          }
        },
        cancel: (owner, upload) => {
          this.held.release(upload);
          return cancelQuietly(this.status, owner, upload);
        },
      },
      ownerId,
      id,
      input,
    );
  }

  private async removeData(id: string): Promise<void> {
    this.hashes.forget(id);
    await this.storage.remove(id);
  }

  private nextExpiry(): Date {
    return new Date(Date.now() + this.options.sessionTtlMs);
  }
}
