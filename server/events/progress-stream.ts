// One client's Server-Sent Events stream of one upload: it first replays what the client has not
// seen (after its Last-Event-ID) on its own, up to at least where the upload's shared reader
// started, holding back what the shared reader finds meanwhile; then it sends what the shared
// reader finds, skipping what it already sent, and ends after the event that ends the upload.
import type { Response } from 'express';
import type { UploadEventRow, UploadSession } from '../../db/schema.js';
import type { UploadEventRepository } from '../../db/upload-event-repository.js';
import type { Logger } from '../ops/logger.js';
import { percentOf, TERMINAL_EVENT_TYPES } from './event-recorder.js';
import { PAGE, type SessionPuller, type StreamSink } from './session-puller.js';

/** A session that ended longer ago than this without a recorded final event had it pruned. */
const SETTLED_MS = 10_000;
const TERMINAL = new Set<string>(TERMINAL_EVENT_TYPES);

type EventLike = Pick<UploadEventRow, 'type' | 'payload' | 'createdAt'> & { id?: number };

export class ProgressStream implements StreamSink {
  private last: number;
  private ended = false;
  /** Rows the shared reader found while this stream replays its own history. */
  private held: UploadEventRow[] | undefined = [];

  constructor(
    private readonly res: Response,
    private readonly session: UploadSession,
    afterId: number,
    private readonly puller: SessionPuller,
    private readonly onEnd: () => void,
  ) {
    this.last = afterId;
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx: pass events through as they come
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    puller.add(this);
    res.on('close', () => this.end());
  }

  /** Replays the history this stream has not seen, then settles a long-finished upload. */
  async start(events: UploadEventRepository, log: Logger): Promise<void> {
    // the client may have gone while the session was looked up: no 'close' will come
    if (this.res.closed) {
      this.end();
      return;
    }
    // what the shared reader will not read (up to its start) must be in this replay
    await this.puller.ready;
    try {
      let rows: UploadEventRow[];
      do {
        rows = await events.listAfter(this.session.id, this.last, PAGE);
        for (const row of rows) this.send(row);
      } while (rows.length === PAGE && !this.ended);
    } catch (error) {
      log.warn({ err: error }, 'progress events could not be read');
    }
    const held = this.held ?? [];
    this.held = undefined;
    for (const row of held) this.send(row);
    if (!this.ended) this.settleEnded();
  }

  deliver(row: UploadEventRow): void {
    if (this.held) this.held.push(row);
    else this.send(row);
  }

  heartbeat(): void {
    if (!this.ended) this.res.write(': heartbeat\n\n');
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.puller.remove(this);
    this.onEnd();
    this.res.end();
  }

  private send(row: EventLike): void {
    if (this.ended) return;
    if (row.id !== undefined) {
      if (row.id <= this.last) return;
      this.last = row.id;
    }
    const data = { upload_id: this.session.id, ...row.payload, at: row.createdAt.toISOString() };
    const id = row.id === undefined ? '' : `id: ${row.id}\n`;
    this.res.write(`${id}event: ${row.type}\ndata: ${JSON.stringify(data)}\n\n`);
    if (TERMINAL.has(row.type)) this.end();
  }

  /** A session that ended long ago whose final event was pruned still gets one, without an id. */
  private settleEnded(): void {
    const s = this.session;
    const terminal = s.status !== 'initiated' && s.status !== 'uploading' && s.status !== 'paused';
    if (!terminal || Date.now() - s.updatedAt.getTime() < SETTLED_MS) return;
    this.send({
      type: s.status,
      createdAt: s.updatedAt,
      payload: {
        status: s.status,
        offset: s.uploadOffset,
        length: s.uploadLength,
        percent: percentOf(s.uploadOffset, s.uploadLength),
        ...(s.status === 'completed' ? { asset_id: s.assetId } : {}),
        ...(s.error ? { error: s.error } : {}),
      },
    });
  }
}
