// Creating a session within its owner's caps: the counts and the insert in one transaction.
import { eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { type NewUploadSession, type UploadMetadata, uploadSessions } from './schema.js';
import type { CreationLimits, CreationResult } from './session-types.js';
import { ACTIVE_STATUSES } from './status.js';

const HOUR_MS = 3_600_000;

/**
 * Inserts a session if its owner is within their caps. The counts (one statement) and the insert
 * run in one transaction holding a per-owner lock, so parallel creations cannot all pass one count.
 * Both are prepared: PostgreSQL parses each shape once per connection instead of on every creation
 * (the shapes are few: the insert's text varies only with which optional columns are given).
 */
export function createWithinLimits(db: Db, values: NewUploadSession, limits: CreationLimits): Promise<CreationResult> {
  const metadata = values.metadata && storableMetadata(values.metadata);
  return db.transaction(async (tx) => {
    if (limits.maxActive > 0 || limits.perHour > 0) {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`owner:${values.ownerId}`}, 2))`);
      const [caps] = await tx
        .select({ active: activeCount(), oldestCounted: oldestCountedSince(values.ownerId, limits) })
        .from(uploadSessions)
        .where(eq(uploadSessions.ownerId, values.ownerId))
        .prepare('session_caps')
        .execute();
      if (limits.maxActive > 0 && (caps?.active ?? 0) >= limits.maxActive) {
        return { ok: false, limit: 'active' } as const;
      }
      if (caps?.oldestCounted) return { ok: false, limit: 'rate', oldestCounted: caps.oldestCounted } as const;
    }
    const [row] = await tx
      .insert(uploadSessions)
      .values({ ...values, metadata })
      .returning()
      .prepare('session_insert')
      .execute();
    if (!row) throw new Error('insert into upload_sessions returned no row');
    return { ok: true, session: row } as const;
  });
}

/** How many of the selected sessions are active (count toward MAX_ACTIVE_SESSIONS). */
function activeCount() {
  return sql<number>`count(*) filter (where ${inArray(uploadSessions.status, ACTIVE_STATUSES)})`.mapWith(Number);
}

/**
 * With `perHour` creations in the last hour, the oldest of them (the one whose hour ends first);
 * else null. One value, however many the owner made.
 */
function oldestCountedSince(ownerId: string, limits: CreationLimits) {
  if (limits.perHour <= 0) return sql<Date | null>`null::timestamptz`.mapWith(uploadSessions.createdAt);
  const since = new Date(limits.now.getTime() - HOUR_MS).toISOString();
  return sql<Date | null>`(select ${uploadSessions.createdAt} from ${uploadSessions}
      where ${uploadSessions.ownerId} = ${ownerId} and ${uploadSessions.createdAt} > ${since}::timestamptz
      order by ${uploadSessions.createdAt} desc offset ${limits.perHour - 1} limit 1)`.mapWith(
    uploadSessions.createdAt,
  );
}

/**
 * PostgreSQL cannot store U+0000 in text or jsonb, and client metadata may contain it: drop it. A lone
 * UTF-16 surrogate (a JSON body may escape one as \ud800) has no UTF-8 form and jsonb refuses it:
 * it becomes U+FFFD, as it does in text columns.
 */
function storableMetadata(metadata: UploadMetadata): UploadMetadata {
  const storable = (text: string) => text.replaceAll('\0', '').replace(LONE_SURROGATE, '\ufffd');
  return Object.fromEntries(
    Object.entries(metadata).map(([key, value]) => [storable(key), value === null ? null : storable(value)]),
  );
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
