// Writes what happens to uploads into upload_events, one row per store event (progress is
// reported per chunk boundary and at the end of each PATCH, never per byte), and announces the
// rows to progress subscribers. Rows are written in the order the events happened, so their ids
// follow it and a subscriber resuming after id n misses nothing.
import type { UploadSession } from '../../db/schema.js';
import type { NewUploadEvent, UploadEventRepository } from '../../db/upload-event-repository.js';
import type { FinalizedEvent, ProgressEvent, StatusEvent, UploadEvents } from '../../store/events.js';
import type { Logger } from '../ops/logger.js';
import type { EventBus } from './event-bus.js';

/** Types that end a progress stream. */
export const TERMINAL_EVENT_TYPES = ['completed', 'failed', 'cancelled', 'expired'] as const;

export function percentOf(offset: number, length: number | null): number | null {
  if (length === null) return null;
  if (length === 0) return 100;
  return Math.floor((offset / length) * 1000) / 10;
}

export function createdEvent(s: UploadSession): NewUploadEvent {
  return {
    sessionId: s.id,
    ownerId: s.ownerId,
    type: 'created',
    payload: {
      status: s.status,
      offset: s.uploadOffset,
      length: s.uploadLength,
      percent: percentOf(s.uploadOffset, s.uploadLength),
      chunk_size: s.chunkSize,
      total_chunks: s.totalChunks,
      filename: s.filename,
    },
  };
}

export function progressEvent(e: ProgressEvent): NewUploadEvent {
  return {
    sessionId: e.id,
    ownerId: e.ownerId,
    type: 'progress',
    payload: {
      status: 'uploading',
      offset: e.offset,
      length: e.length,
      percent: percentOf(e.offset, e.length),
      bytes: e.bytes,
      chunks: e.chunks,
    },
  };
}

/** Completion is recorded from the finalized event, which carries the asset. */
export function statusEvent(e: StatusEvent): NewUploadEvent | undefined {
  if (e.status === 'completed') return undefined;
  const terminal = e.status === 'failed' || e.status === 'cancelled' || e.status === 'expired';
  return {
    sessionId: e.id,
    ownerId: e.ownerId,
    type: terminal ? e.status : 'status',
    payload: { status: e.status, ...(e.error ? { error: e.error } : {}) },
  };
}

export function completedEvent(e: FinalizedEvent): NewUploadEvent {
  return {
    sessionId: e.session.id,
    ownerId: e.session.ownerId,
    type: 'completed',
    payload: {
      status: 'completed',
      asset_id: e.asset.id,
      sha256: e.asset.sha256,
      size: e.asset.size,
      offset: e.asset.size,
      length: e.asset.size,
      percent: 100,
    },
  };
}

// Events written per statement at most; more wait for the next one.
const BATCH_LIMIT = 500;

/**
 * Records store events in upload_events. Events queue in the order they happen and are written
 * by one writer, all that have queued since its last statement in one multi-row insert: under load
 * that is one statement (and one commit) for many uploads' events, not one each.
 */
export class EventRecorder {
  private queue: NewUploadEvent[] = [];
  private writing: Promise<void> | undefined;
  private readonly detach: () => void;

  constructor(
    events: UploadEvents,
    private readonly repository: UploadEventRepository,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {
    const onCreated = (s: UploadSession) => this.record(createdEvent(s));
    const onProgress = (e: ProgressEvent) => this.record(progressEvent(e));
    const onStatus = (e: StatusEvent) => {
      const event = statusEvent(e);
      if (event) this.record(event);
    };
    const onFinalized = (e: FinalizedEvent) => this.record(completedEvent(e));
    events.on('created', onCreated);
    events.on('progress', onProgress);
    events.on('status', onStatus);
    events.on('finalized', onFinalized);
    this.detach = () => {
      events.off('created', onCreated);
      events.off('progress', onProgress);
      events.off('status', onStatus);
      events.off('finalized', onFinalized);
    };
  }

  private record(event: NewUploadEvent): void {
    this.queue.push(event);
    // the first event waits one turn, so the progress of a whole group commit (emitted together)
    // goes into one insert rather than the first alone and the rest in another
    this.writing ??= new Promise((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .finally(() => {
        this.writing = undefined;
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, BATCH_LIMIT);
      this.queue = this.queue.slice(batch.length);
      try {
        await this.repository.appendMany(batch);
      } catch {
        // one bad row must not cost the others: write them one by one
        for (const event of batch) {
          await this.repository.appendMany([event]).catch((error: unknown) => {
            this.log.warn(
              { err: error, upload_id: event.sessionId, owner: event.ownerId, type: event.type },
              'upload event not recorded',
            );
          });
        }
      }
      for (const sessionId of new Set(batch.map((e) => e.sessionId))) this.bus.published(sessionId);
    }
  }

  /** Stops listening and waits for the rows still being written. */
  async close(): Promise<void> {
    this.detach();
    await this.writing;
  }
}
