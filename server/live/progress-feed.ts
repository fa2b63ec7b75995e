// Server-Sent Events for one upload: replays its recorded events after the client's
// Last-Event-ID, then sends each new one as it is committed (told by the event bus, and checked
// again at every heartbeat in case a notification was lost), and closes the stream after the
// event that ends the upload. Every stream is tracked so a graceful stop can end them.
import type { Response } from 'express';
import type { UploadEventRow, UploadSession } from '../../db/schema.js';
import type { UploadEventRepository } from '../../db/upload-event-repository.js';
import type { Logger } from '../logger.js';
import type { EventBus } from './event-bus.js';
import { percentOf, TERMINAL_EVENT_TYPES } from './event-recorder.js';

const PAGE = 500;
/** A session that ended longer ago than this without a recorded final event had it pruned. */
const SETTLED_MS = 10_000;
const TERMINAL = new Set<string>(TERMINAL_EVENT_TYPES);

export interface ProgressFeedOptions {
  events: UploadEventRepository;
  bus: EventBus;
  heartbeatMs: number;
  log: Logger;
}

export class ProgressFeed {
  private readonly open = new Set<() => void>();

  constructor(private readonly options: ProgressFeedOptions) {}

  /** Streams open right now. */
  get streamCount(): number {
    return this.open.size;
  }

  /** Ends every open stream; clients reconnect (to another instance) with their Last-Event-ID. */
  endAll(): void {
    for (const end of [...this.open]) end();
  }

  /** Answers `res` with the event stream of `session`, starting after event `afterId`. */
  async stream(res: Response, session: UploadSession, afterId: number): Promise<void> {
    const { events, bus, heartbeatMs } = this.options;
    const log = this.options.log.child({ upload_id: session.id, owner: session.ownerId });
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx: pass events through as they come
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');

    let last = afterId;
    let ended = false;
    let pulling = false;
    let again = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(end);
      res.end();
    };
    const send = (row: Pick<UploadEventRow, 'type' | 'payload' | 'createdAt'> & { id?: number }) => {
      const data = { upload_id: session.id, ...row.payload, at: row.createdAt.toISOString() };
      const id = row.id === undefined ? '' : `id: ${row.id}\n`;
      res.write(`${id}event: ${row.type}\ndata: ${JSON.stringify(data)}\n\n`);
      if (TERMINAL.has(row.type)) end();
    };
    const pull = async (): Promise<void> => {
      if (pulling) {
        again = true;
        return;
      }
      pulling = true;
      try {
        do {
          again = false;
          let rows: UploadEventRow[];
          do {
            rows = await events.listAfter(session.id, last, PAGE);
            for (const row of rows) {
              if (ended) return;
              last = row.id;
              send(row);
            }
          } while (rows.length === PAGE && !ended);
        } while (again && !ended);
      } catch (error) {
        log.warn({ err: error }, 'progress events could not be read');
      } finally {
        pulling = false;
      }
    };

    const unsubscribe = bus.subscribe(session.id, () => void pull());
    const heartbeat = setInterval(() => {
      res.write(': heartbeat\n\n');
      void pull();
    }, heartbeatMs);
    this.open.add(end);
    res.on('close', end);
    log.debug({ after: afterId }, 'progress stream opened');
    await pull();
    if (!ended) this.settleEnded(session, send);
  }

  /** A session that ended long ago whose final event was pruned still gets one, without an id. */
  private settleEnded(
    session: UploadSession,
    send: (row: Pick<UploadEventRow, 'type' | 'payload' | 'createdAt'>) => void,
  ) {
    const terminal = session.status !== 'initiated' && session.status !== 'uploading' && session.status !== 'paused';
    if (!terminal || Date.now() - session.updatedAt.getTime() < SETTLED_MS) return;
    const length = session.uploadLength;
    send({
      type: session.status,
      createdAt: session.updatedAt,
      payload: {
        status: session.status,
        offset: session.uploadOffset,
        length,
        percent: percentOf(session.uploadOffset, length),
        ...(session.status === 'completed' ? { asset_id: session.assetId } : {}),
        ...(session.error ? { error: session.error } : {}),
      },
    });
  }
}
