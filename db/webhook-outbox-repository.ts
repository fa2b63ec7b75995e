// Named queries over webhook_outbox: enqueue a webhook with the change that caused it, let one
// worker at a time (across every instance) claim a due row, and record how its delivery went.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray, isNull, lt, lte, min, or, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { type WebhookOutboxRow, webhookOutbox } from './schema.js';

export interface NewWebhook {
  type: string;
  sessionId: string;
  payload: Record<string, unknown>;
}

export class WebhookOutboxRepository {
  constructor(private readonly db: Db) {}

  async enqueue(webhook: NewWebhook): Promise<WebhookOutboxRow> {
    const [row] = await this.db
      .insert(webhookOutbox)
      .values({ ...webhook, eventId: randomUUID() })
      .returning();
    if (!row) throw new Error('insert into webhook_outbox returned no row');
    return row;
  }

  /**
   * Claims up to `limit` due rows for `leaseMs`: rows another worker is claiming right now are
   * skipped (FOR UPDATE SKIP LOCKED), and a claimed row is not due again until its lease ends, so
   * no two workers deliver the same row at once. Counts the attempt.
   */
  async claim(limit: number, leaseMs: number): Promise<WebhookOutboxRow[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select({ id: webhookOutbox.id })
        .from(webhookOutbox)
        .where(
          and(
            eq(webhookOutbox.state, 'pending'),
            lte(webhookOutbox.nextAttemptAt, sql`now()`),
            or(isNull(webhookOutbox.lockedUntil), lt(webhookOutbox.lockedUntil, sql`now()`)),
          ),
        )
        .orderBy(asc(webhookOutbox.id))
        .limit(limit)
        .for('update', { skipLocked: true });
      if (due.length === 0) return [];
      return tx
        .update(webhookOutbox)
        .set({
          attempts: sql`${webhookOutbox.attempts} + 1`,
          lockedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
        })
        .where(
          inArray(
            webhookOutbox.id,
            due.map((r) => r.id),
          ),
        )
        .returning();
    });
  }

  async markDelivered(id: number): Promise<void> {
    await this.db
      .update(webhookOutbox)
      .set({ state: 'delivered', deliveredAt: sql`now()`, lockedUntil: null, lastError: null })
      .where(eq(webhookOutbox.id, id));
  }

  /** Another attempt after `delayMs`. */
  async retryLater(id: number, delayMs: number, error: string): Promise<void> {
    await this.db
      .update(webhookOutbox)
      .set({
        nextAttemptAt: sql`now() + make_interval(secs => ${delayMs / 1000})`,
        lockedUntil: null,
        lastError: error,
      })
      .where(eq(webhookOutbox.id, id));
  }

  /** No more attempts: the row stays for inspection until pruned. */
  async markDead(id: number, error: string): Promise<void> {
    await this.db
      .update(webhookOutbox)
      .set({ state: 'dead', lockedUntil: null, lastError: error })
      .where(eq(webhookOutbox.id, id));
  }

  /** When the next pending row falls due (or its lease ends), or undefined when none is pending. */
  async nextDue(): Promise<Date | undefined> {
    const [row] = await this.db
      .select({ at: min(sql<Date>`greatest(${webhookOutbox.nextAttemptAt}, ${webhookOutbox.lockedUntil})`) })
      .from(webhookOutbox)
      .where(eq(webhookOutbox.state, 'pending'));
    return row?.at ? new Date(row.at) : undefined;
  }

  async find(id: number): Promise<WebhookOutboxRow | undefined> {
    const [row] = await this.db.select().from(webhookOutbox).where(eq(webhookOutbox.id, id));
    return row;
  }

  /** Rows about one upload, oldest first. */
  async listBySession(sessionId: string): Promise<WebhookOutboxRow[]> {
    return this.db
      .select()
      .from(webhookOutbox)
      .where(eq(webhookOutbox.sessionId, sessionId))
      .orderBy(asc(webhookOutbox.id));
  }

  /** Deletes delivered and dead rows created before `before`; pending rows are kept. */
  async pruneBefore(before: Date): Promise<number> {
    const rows = await this.db
      .delete(webhookOutbox)
      .where(and(inArray(webhookOutbox.state, ['delivered', 'dead']), lt(webhookOutbox.createdAt, before)))
      .returning({ id: webhookOutbox.id });
    return rows.length;
  }
}
