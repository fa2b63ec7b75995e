// Where a body's bytes go: into the upload's storage at its offset (chunk-writer.ts), with
// progress synced and recorded in the session row through the group committer. Also keeps count of the writes in progress,
// so a graceful stop can ask them to commit what they have and wait for them.
import type { Readable } from 'node:stream';
import type { UploadSession } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { UploadError } from '../errors.js';
import type { UploadEvents } from '../events.js';
import { type ChunkSink, type ChunkStorage, uploadShape } from '../storage/chunk-storage.js';
import { storageError } from '../storage/storage-error.js';
import type { BlockPool } from './block-pool.js';
import type { BodyCheck } from './checksum.js';
import type { NumberedChunkDeps } from './chunk-put.js';
import { writeChunks } from './chunk-writer.js';
import type { GroupCommitter } from './group-committer.js';
import type { HashStates, UploadHasher } from './hash-state.js';

export interface UploadWriterDeps {
  storage: ChunkStorage;
  hashes: HashStates;
  sessions: SessionRepository;
  events: UploadEvents;
  blocks: BlockPool;
  committer: GroupCommitter;
  nextExpiry(): Date;
}

/** Where a write ended: its durable offset, and the session row as its last commit left it. */
export interface WriteOutcome {
  end: number;
  /** Undefined when nothing was committed (an empty body). */
  row: UploadSession | undefined;
}

/** One append: the session as read under the lock, and the bounds of what may be written. */
export interface WriteTarget {
  session: UploadSession;
  /** The upload's length, when known (declared now or before). */
  length: number | undefined;
  /** The most bytes an upload of unknown length may reach. */
  maxLength: number;
  /** The body ends the upload: its last chunk completes where the body ends. */
  ends: boolean;
}

export class UploadWriter {
  private started = 0;
  private readonly writing = new Map<Promise<unknown>, AbortController>();

  constructor(private readonly w: UploadWriterDeps) {}

  /** What the REST chunk writer needs. */
  get deps(): NumberedChunkDeps {
    return { ...this.w, bufferSize: this.w.blocks.blockSize };
  }

  /** The upload's running hashes at its offset: this process's, or rebuilt from its stored bytes. */
  hasherAt(session: UploadSession): Promise<UploadHasher> {
    const { id, uploadOffset, chunkSize } = session;
    const chunkStart = Math.floor(uploadOffset / chunkSize) * chunkSize;
    return this.w.hashes.hasherAt(id, this.w.storage.sourceOf(id, chunkStart), uploadOffset, chunkSize);
  }

  /** Writes `body` at the session's offset; resolves with the durable offset it reached. */
  write(target: WriteTarget, body: Readable | AsyncIterable<Buffer>, checksum?: BodyCheck): Promise<WriteOutcome> {
    return this.track((stop) => this.writeAt(target, body, checksum, stop));
  }

  /** Counts `work` as a write in progress; its signal asks it to stop (server shutting down). */
  track<T>(work: (stop: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.started++;
    const promise = work(controller.signal);
    this.writing.set(promise, controller);
    const done = () => this.writing.delete(promise);
    promise.then(done, done);
    return promise;
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
    return this.w.blocks.keptBytes;
  }

  /** Lets go of the write blocks kept for reuse (when idle), also those the hashing thread still references. */
  releaseBuffers(): void {
    this.w.blocks.clear();
    void this.w.hashes.collect().catch(() => {});
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
    target: WriteTarget,
    body: Readable | AsyncIterable<Buffer>,
    checksum: BodyCheck | undefined,
    stop: AbortSignal,
  ): Promise<WriteOutcome> {
    const { session } = target;
    const sink = await this.w.storage.openSink(session.id, session.uploadOffset, uploadShape(session, target.length));
    let recorded = session.uploadOffset;
    let row: UploadSession | undefined;
    try {
      const hasher = await this.hasherAt(session);
      const end = await writeChunks(body, {
        sink,
        chunkSize: session.chunkSize,
        length: target.length,
        maxLength: target.maxLength,
        ends: target.ends,
        start: session.uploadOffset,
        hasher,
        blocks: this.w.blocks,
        recorded: session.chunks,
        record: async (offset, chunks) => {
          row = await this.record(sink, session, target.length, { offset, chunks, bytes: offset - recorded });
          recorded = offset;
        },
        checksum,
        stop,
      });
      this.w.hashes.keep(hasher);
      return { end, row };
    } catch (error) {
      this.w.hashes.forget(session.id);
      throw storageError(error);
    } finally {
      await sink.close();
    }
  }

  /** Syncs and records progress in the next group commit; the row as recorded. */
  private async record(
    sink: ChunkSink,
    session: UploadSession,
    length: number | undefined,
    progress: { offset: number; chunks: Record<string, string>; bytes: number },
  ): Promise<UploadSession> {
    const { id, ownerId } = session;
    const { offset, chunks } = progress;
    const row = await this.w.committer.commit({
      progress: { ownerId, id, offset, chunks, expiresAt: this.w.nextExpiry() },
      sync: () => sink.sync(),
    });
    if (!row) throw new UploadError('invalid_state', `upload ${id} was paused or cancelled while receiving`);
    this.w.events.emit('progress', {
      id,
      ownerId,
      offset,
      length: length ?? null,
      bytes: Math.max(0, progress.bytes),
      chunks: Object.keys(chunks).map(Number),
    });
    return row;
  }
}
