// Named queries over upload_events: the ordered history of each upload that live progress
// subscribers replay from (Last-Event-ID), and the notification that tells them to look.
import { and, asc, eq, gt, lt, max, sql } from 'drizzle-orm';
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
   * Inserts events in one statement, in the order given (their ids follow it), and notifies
   * listeners once per session (PostgreSQL sends the notifications on commit, so a listener that
   * looks finds the rows).
   */
  async appendMany(events: readonly NewUploadEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((e) => sql`(${e.sessionId}, ${e.ownerId}, ${e.type}, ${JSON.stringify(e.payload)}::jsonb)`);
    await this.db.execute(sql`
      with inserted as (
        insert into ${uploadEvents} (session_id, owner_id, type, payload)
        values ${sql.join(rows, sql`, `)}
        returning session_id
      )
      select pg_notify(${UPLOAD_EVENTS_CHANNEL}, session_id) from (select distinct session_id from inserted) s`);
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

  /** The id of the newest event of one session, 0 when it has none. */
  async latestId(sessionId: string): Promise<number> {
    const [row] = await this.db
      .select({ id: max(uploadEvents.id) })
      .from(uploadEvents)
      .where(eq(uploadEvents.sessionId, sessionId));
    return row?.id ?? 0;
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
