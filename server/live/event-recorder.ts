// Writes what happens to uploads into upload_events, one row per store event (progress is
// reported per chunk boundary and at the end of each PATCH, never per byte), and announces each
// row to progress subscribers. Rows of one upload are written one after another, so their ids
// follow the order of the events and a subscriber resuming after id n misses nothing.
import type { UploadSession } from '../../db/schema.js';
import type { NewUploadEvent, UploadEventRepository } from '../../db/upload-event-repository.js';
import type { FinalizedEvent, ProgressEvent, StatusEvent, UploadEvents } from '../../store/events.js';
import type { Logger } from '../logger.js';
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

export class EventRecorder {
  private readonly tails = new Map<string, Promise<void>>();
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
    const { sessionId } = event;
    const previous = this.tails.get(sessionId) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        await this.repository.append(event);
        this.bus.published(sessionId);
      } catch (error) {
        this.log.warn(
          { err: error, upload_id: sessionId, owner: event.ownerId, type: event.type },
          'upload event not recorded',
        );
      }
    });
    this.tails.set(sessionId, next);
    void next.then(() => {
      if (this.tails.get(sessionId) === next) this.tails.delete(sessionId);
    });
  }

  /** Stops listening and waits for the rows still being written. */
  async close(): Promise<void> {
    this.detach();
    await Promise.all([...this.tails.values()]);
  }
}
