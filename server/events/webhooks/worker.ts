// Delivers the webhook outbox: claims due rows (at most one worker per row at a time, across all
// instances), POSTs each signed body to WEBHOOK_URL, and on failure retries with exponential
// backoff until the attempts run out, when the row is marked dead and logged. Sleeps until the
// next row falls due, or until told a new row was written.
import { setTimeout as delay } from 'node:timers/promises';
import type { WebhookOutboxRow } from '../../../db/schema.js';
import type { WebhookOutboxRepository } from '../../../db/webhook-outbox-repository.js';
import type { WebhookConfig } from '../../config/config.js';
import type { Logger } from '../../ops/logger.js';
import { webhookBody } from './payloads.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature.js';

const BATCH = 10;
const IDLE_POLL_MS = 30_000;

/** Delay before retry number `attempt` (1-based): base * 2^(attempt-1), capped, with ±20 % jitter. */
export function backoffDelay(config: WebhookConfig, attempt: number): number {
  const raw = Math.min(config.backoffMs * 2 ** Math.min(attempt - 1, 30), config.backoffMaxMs);
  return Math.round(raw * (0.8 + Math.random() * 0.4));
}

export class WebhookWorker {
  private stopped = false;
  private kicked = false;
  private wake: (() => void) | undefined;
  private readonly inFlight = new AbortController();
  private readonly loop: Promise<void>;

  constructor(
    private readonly outbox: WebhookOutboxRepository,
    private readonly config: WebhookConfig,
    private readonly log: Logger,
  ) {
    this.loop = this.run();
  }

  /** A row was written: look now instead of at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Stops claiming rows; deliveries in progress are cut short and retried later. */
  async close(): Promise<void> {
    this.stopped = true;
    this.inFlight.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const leaseMs = this.config.timeoutMs + 30_000;
    while (!this.stopped) {
      this.kicked = false;
      let waitMs = Math.min(IDLE_POLL_MS, this.config.backoffMaxMs);
      try {
        const rows = await this.outbox.claim(BATCH, leaseMs);
        if (rows.length > 0) {
          await Promise.all(rows.map((row) => this.deliver(row)));
          continue;
        }
        const next = await this.outbox.nextDue();
        if (next) waitMs = Math.max(10, Math.min(waitMs, next.getTime() - Date.now()));
      } catch (error) {
        if (this.stopped) break;
        this.log.error({ err: error }, 'webhook outbox unavailable');
      }
      if (!this.kicked && !this.stopped) await this.sleep(waitMs);
    }
  }

  private async sleep(ms: number): Promise<void> {
    const wake = new AbortController();
    this.wake = () => wake.abort();
    await delay(ms, undefined, { signal: wake.signal }).catch(() => {});
    this.wake = undefined;
  }

  private async deliver(row: WebhookOutboxRow): Promise<void> {
    const log = this.log.child({
      webhook_id: row.eventId,
      type: row.type,
      upload_id: row.sessionId,
      attempt: row.attempts,
    });
    let problem: string;
    try {
      const sentAt = new Date();
      const body = webhookBody(row, sentAt);
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'User-Agent': 'upload-server-webhooks',
        [EVENT_HEADER]: row.type,
        [DELIVERY_HEADER]: row.eventId,
        [TIMESTAMP_HEADER]: String(Math.floor(sentAt.getTime() / 1000)),
      };
      if (this.config.secret) headers[SIGNATURE_HEADER] = signWebhook(this.config.secret, body);
      const response = await fetch(this.config.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.config.timeoutMs), this.inFlight.signal]),
      });
      await response.body?.cancel().catch(() => {});
      if (response.ok) {
        await this.outbox.markDelivered(row.id);
        log.debug({ status: response.status }, 'webhook delivered');
        return;
      }
      problem = `HTTP ${response.status}`;
    } catch (error) {
      problem = this.stopped
        ? 'interrupted by shutdown'
        : error instanceof Error
          ? error.cause instanceof Error
            ? `${error.message}: ${error.cause.message}`
            : error.message
          : String(error);
    }
    try {
      if (row.attempts >= this.config.maxAttempts && !this.stopped) {
        await this.outbox.markDead(row.id, problem);
        log.error({ error: problem }, 'webhook dead: no attempts left');
      } else {
        const wait = this.stopped ? 0 : backoffDelay(this.config, row.attempts);
        await this.outbox.retryLater(row.id, wait, problem);
        log.warn({ error: problem, retry_in_ms: wait }, 'webhook delivery failed; will retry');
      }
    } catch (error) {
      // the lease runs out and another attempt follows
      log.error({ err: error }, 'webhook outcome not recorded');
    }
  }
}
