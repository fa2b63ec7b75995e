// Puts a webhook into the outbox for each upload created, finished, failed, cancelled or expired,
// as the store announces the committed change, and wakes the delivery worker.
import type { UploadSession } from '../../../db/schema.js';
import type { NewWebhook, WebhookOutboxRepository } from '../../../db/webhook-outbox-repository.js';
import type { FinalizedEvent, StatusEvent, UploadEvents } from '../../../store/events.js';
import type { Logger } from '../../ops/logger.js';
import { createdWebhook, finishedWebhook, statusWebhook } from './payloads.js';

export class OutboxWriter {
  private readonly pending = new Set<Promise<void>>();
  private readonly detach: () => void;

  constructor(
    events: UploadEvents,
    private readonly outbox: WebhookOutboxRepository,
    private readonly written: () => void,
    private readonly log: Logger,
  ) {
    const onCreated = (s: UploadSession) => this.enqueue(createdWebhook(s));
    const onFinalized = (e: FinalizedEvent) => this.enqueue(finishedWebhook(e));
    const onStatus = (e: StatusEvent) => {
      const webhook = statusWebhook(e);
      if (webhook) this.enqueue(webhook);
    };
    events.on('created', onCreated);
    events.on('finalized', onFinalized);
    events.on('status', onStatus);
    this.detach = () => {
      events.off('created', onCreated);
      events.off('finalized', onFinalized);
      events.off('status', onStatus);
    };
  }

  private enqueue(webhook: NewWebhook): void {
    const work = this.outbox.enqueue(webhook).then(
      () => this.written(),
      (error: unknown) =>
        this.log.error({ err: error, upload_id: webhook.sessionId, type: webhook.type }, 'webhook not queued'),
    );
    this.pending.add(work);
    void work.then(() => this.pending.delete(work));
  }

  /** Stops listening and waits for the rows still being written. */
  async close(): Promise<void> {
    this.detach();
    await Promise.all([...this.pending]);
  }
}
