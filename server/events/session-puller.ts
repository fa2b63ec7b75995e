// One reader of one upload's recorded events for every progress stream open on it: starting from
// the upload's newest event when it is created (never from a client's Last-Event-ID), it reads new
// rows when the event bus says there are some, and at each heartbeat in case a notification was
// lost, and hands each row, in id order, to every stream. However many streams watch an upload, the
// database is polled once per heartbeat for it, not once per stream.
import type { UploadEventRow } from '../../db/schema.js';
import type { UploadEventRepository } from '../../db/upload-event-repository.js';
import type { Logger } from '../ops/logger.js';
import type { EventBus } from './event-bus.js';

export const PAGE = 500;

export interface StreamSink {
  /** A row newer than the puller's position, in id order (a stream skips those it has sent). */
  deliver(row: UploadEventRow): void;
  heartbeat(): void;
}

export interface PullerDeps {
  events: UploadEventRepository;
  bus: EventBus;
  heartbeatMs: number;
  log: Logger;
}

export class SessionPuller {
  private readonly sinks = new Set<StreamSink>();
  private last = 0;
  /** Settles once the starting position is read; streams replay up to it on their own. */
  readonly ready: Promise<void>;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly unsubscribe: () => void;
  private readonly timer: NodeJS.Timeout;

  /** `onIdle` is called once its last stream has left. */
  constructor(
    readonly sessionId: string,
    private readonly deps: PullerDeps,
    private readonly onIdle: () => void,
  ) {
    this.ready = deps.events.latestId(sessionId).then(
      (id) => {
        this.last = id;
      },
      (error: unknown) => {
        // from the start, then: streams skip what they have already sent
        deps.log.warn({ err: error, upload_id: sessionId }, 'progress events could not be read');
      },
    );
    this.unsubscribe = deps.bus.subscribe(sessionId, () => void this.pull());
    this.timer = setInterval(() => {
      for (const sink of this.sinks) sink.heartbeat();
      void this.pull();
    }, deps.heartbeatMs);
  }

  get size(): number {
    return this.sinks.size;
  }

  add(sink: StreamSink): void {
    this.sinks.add(sink);
  }

  remove(sink: StreamSink): void {
    if (!this.sinks.delete(sink) || this.sinks.size > 0) return;
    clearInterval(this.timer);
    this.unsubscribe();
    this.onIdle();
  }

  /** Reads every row after the position; a call during a read makes that read look once more. */
  pull(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.read().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async read(): Promise<void> {
    await this.ready;
    try {
      do {
        this.again = false;
        let rows: UploadEventRow[];
        do {
          if (this.sinks.size === 0) return;
          rows = await this.deps.events.listAfter(this.sessionId, this.last, PAGE);
          for (const row of rows) {
            this.last = row.id;
            for (const sink of this.sinks) sink.deliver(row);
          }
        } while (rows.length === PAGE);
      } while (this.again);
    } catch (error) {
      this.deps.log.warn({ err: error, upload_id: this.sessionId }, 'progress events could not be read');
    }
  }
}
