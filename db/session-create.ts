// Creating a session within its owner's caps: the counts and the insert in one transaction.
import { and, count, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { type NewUploadSession, type UploadMetadata, uploadSessions } from './schema.js';
import type { CreationLimits, CreationResult } from './session-types.js';
import { ACTIVE_STATUSES } from './status.js';

const HOUR_MS = 3_600_000;

/**
 * Inserts a session if its owner is within their caps. The counts and the insert run in one
 * transaction holding a per-owner lock, so parallel creations cannot all pass one count.
 */
export function createWithinLimits(db: Db, values: NewUploadSession, limits: CreationLimits): Promise<CreationResult> {
  const metadata = values.metadata && storableMetadata(values.metadata);
  return db.transaction(async (tx) => {
    const owner = eq(uploadSessions.ownerId, values.ownerId);
    if (limits.maxActive > 0 || limits.perHour > 0) {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`owner:${values.ownerId}`}, 2))`);
    }
    if (limits.maxActive > 0) {
      const [active] = await tx
        .select({ n: count() })
        .from(uploadSessions)
        .where(and(owner, inArray(uploadSessions.status, ACTIVE_STATUSES)));
      if ((active?.n ?? 0) >= limits.maxActive) return { ok: false, limit: 'active' } as const;
    }
    if (limits.perHour > 0) {
      const since = new Date(limits.now.getTime() - HOUR_MS);
      const recent = await tx
        .select({ createdAt: uploadSessions.createdAt })
        .from(uploadSessions)
        .where(and(owner, gt(uploadSessions.createdAt, since)))
        .orderBy(desc(uploadSessions.createdAt))
        .limit(limits.perHour);
      const oldestCounted = recent[limits.perHour - 1]?.createdAt;
      if (oldestCounted) return { ok: false, limit: 'rate', oldestCounted } as const;
    }
    const [row] = await tx
      .insert(uploadSessions)
      .values({ ...values, metadata })
      .returning();
    if (!row) throw new Error('insert into upload_sessions returned no row');
    return { ok: true, session: row } as const;
  });
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
