// Live progress of uploads as Server-Sent Events (progress-stream.ts): one shared reader per
// upload (session-puller.ts) however many streams watch it, and caps on the streams open per owner
// and per upload, so one user cannot hold unbounded sockets, timers and database reads. Every
// stream is tracked so a graceful stop can end them.
import type { Response } from 'express';
import type { UploadSession } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';
import { ProgressStream } from './progress-stream.js';
import { type PullerDeps, SessionPuller } from './session-puller.js';

/** Seconds a refused client waits: streams end as uploads finish. */
const RETRY_AFTER = '10';

export interface ProgressFeedOptions extends PullerDeps {
  /** Streams one owner may hold open on this instance; 0: no cap. */
  maxPerUser: number;
  /** Streams open on one upload on this instance; 0: no cap. */
  maxPerSession: number;
}

export class ProgressFeed {
  private readonly open = new Set<ProgressStream>();
  private readonly pullers = new Map<string, SessionPuller>();
  private readonly perOwner = new Map<string, number>();

  constructor(private readonly options: ProgressFeedOptions) {}

  /** Streams open right now. */
  get streamCount(): number {
    return this.open.size;
  }

  /** Uploads whose events are being read for open streams (one reader each). */
  get sessionsWatched(): number {
    return this.pullers.size;
  }

  /** Ends every open stream; clients reconnect (to another instance) with their Last-Event-ID. */
  endAll(): void {
    for (const stream of [...this.open]) stream.end();
  }

  /** Answers `res` with the event stream of `session`, starting after event `afterId`. */
  async stream(res: Response, session: UploadSession, afterId: number): Promise<void> {
    this.admit(session);
    const log = this.options.log.child({ upload_id: session.id, owner: session.ownerId });
    let puller = this.pullers.get(session.id);
    if (!puller) {
      const created = new SessionPuller(session.id, this.options, () => {
        if (this.pullers.get(session.id) === created) this.pullers.delete(session.id);
      });
      this.pullers.set(session.id, created);
      puller = created;
    }
    const stream = new ProgressStream(res, session, afterId, puller, () => {
      this.open.delete(stream);
      this.count(session.ownerId, -1);
    });
    this.open.add(stream);
    this.count(session.ownerId, 1);
    log.debug({ after: afterId }, 'progress stream opened');
    await stream.start(this.options.events, log);
  }

  /** Refuses a stream beyond the caps, before anything is sent. */
  private admit(session: UploadSession): void {
    const { maxPerUser, maxPerSession } = this.options;
    const onSession = this.pullers.get(session.id)?.size ?? 0;
    if (maxPerSession > 0 && onSession >= maxPerSession) {
      throw new UploadError(
        'rate_limited',
        `at most ${maxPerSession} progress streams may be open on one upload (SSE_MAX_STREAMS_PER_SESSION); close one and retry`,
        { 'Retry-After': RETRY_AFTER },
      );
    }
    const ofOwner = this.perOwner.get(session.ownerId) ?? 0;
    if (maxPerUser > 0 && ofOwner >= maxPerUser) {
      throw new UploadError(
        'rate_limited',
        `at most ${maxPerUser} progress streams may be open per user (SSE_MAX_STREAMS_PER_USER); close one and retry`,
        { 'Retry-After': RETRY_AFTER },
      );
    }
  }

  private count(owner: string, delta: number): void {
    const next = (this.perOwner.get(owner) ?? 0) + delta;
    if (next > 0) this.perOwner.set(owner, next);
    else this.perOwner.delete(owner);
  }
}
