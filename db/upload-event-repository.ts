// Named queries over upload_events: the ordered history of each upload that live progress
// subscribers replay from (Last-Event-ID), and the notification that tells them to look.
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { type UploadEventRow, uploadEvents } from './schema.js';

/** PostgreSQL NOTIFY channel; the payload is the session id that has a new event. */
export const UPLOAD_EVENTS_CHANNEL = 'upload_events';

export interface NewUploadEvent {
  sessionId: string;
  ownerId: string;
  type: string;
  payload: Record<string, unknown>;
}

export class UploadEventRepository {
  constructor(private readonly db: Db) {}

  /**
   * Inserts one event and, in the same statement, notifies listeners (PostgreSQL sends the
   * notification on commit, so a listener that looks finds the row). Returns the event id.
   */
  async append(event: NewUploadEvent): Promise<number> {
    const result: unknown = await this.db.execute(sql`
      with inserted as (
        insert into ${uploadEvents} (session_id, owner_id, type, payload)
        values (${event.sessionId}, ${event.ownerId}, ${event.type}, ${JSON.stringify(event.payload)}::jsonb)
        returning id, session_id
      )
      select id, pg_notify(${UPLOAD_EVENTS_CHANNEL}, session_id) from inserted`);
    const rows = Array.isArray(result) ? result : (result as { rows?: unknown[] }).rows;
    const id = Number((rows?.[0] as { id?: unknown } | undefined)?.id);
    if (!Number.isSafeInteger(id)) throw new Error('insert into upload_events returned no id');
    return id;
  }

  /** Events of one session after `afterId`, oldest first. */
  async listAfter(sessionId: string, afterId: number, limit = 500): Promise<UploadEventRow[]> {
    return this.db
      .select()
      .from(uploadEvents)
      .where(and(eq(uploadEvents.sessionId, sessionId), gt(uploadEvents.id, afterId)))
      .orderBy(asc(uploadEvents.id))
      .limit(limit);
  }

  /** Deletes events older than `before`; returns how many. */
  async pruneBefore(before: Date): Promise<number> {
    const rows = await this.db
      .delete(uploadEvents)
      .where(lt(uploadEvents.createdAt, before))
      .returning({ id: uploadEvents.id });
    return rows.length;
  }
}
