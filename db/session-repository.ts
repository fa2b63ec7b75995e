// Named queries over upload_sessions (and the assets row that completes one). Nothing else in the
// code base writes these tables.
import { and, count, desc, eq, gt, inArray, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import {
  type Asset,
  assets,
  type ChunkDigests,
  type NewAsset,
  type NewUploadSession,
  type UploadMetadata,
  type UploadSession,
  type UploadStatus,
  uploadSessions,
} from './schema.js';
import { ACTIVE_STATUSES, statusesLeadingTo } from './status.js';

export type TransitionResult = { ok: true; session: UploadSession } | { ok: false; current: UploadSession | undefined };

/** A row looked up for a caller: theirs, someone else's, or none. */
export type Owned<T> = { kind: 'found'; row: T } | { kind: 'foreign' } | { kind: 'missing' };

export function ownedBy<T extends { ownerId: string }>(ownerId: string, row: T | undefined): Owned<T> {
  if (!row) return { kind: 'missing' };
  return row.ownerId === ownerId ? { kind: 'found', row } : { kind: 'foreign' };
}

/** Per-owner caps checked in the same transaction as the insert; 0 turns one off. */
export interface CreationLimits {
  maxActive: number;
  perHour: number;
  now: Date;
}

export type CreationResult =
  | { ok: true; session: UploadSession }
  | { ok: false; limit: 'active' }
  | { ok: false; limit: 'rate'; oldestCounted: Date };

const HOUR_MS = 3_600_000;

export interface ProgressUpdate {
  offset: number;
  /** Chunks completed by this write, merged into the recorded ones. */
  chunks?: ChunkDigests;
  expiresAt: Date;
}

export interface ListOptions {
  status?: UploadStatus;
  limit: number;
  offset: number;
}

const RECEIVING: UploadStatus[] = ['initiated', 'uploading'];
// Parts of a concatenation are not finalised on their own.
const notPartial = or(isNull(uploadSessions.concat), ne(uploadSessions.concat, 'partial'));
const mine = (ownerId: string, id: string) => and(eq(uploadSessions.id, id), eq(uploadSessions.ownerId, ownerId));

export class SessionRepository {
  constructor(private readonly db: Db) {}

  /**
   * Inserts a session if its owner is within their caps. The counts and the insert run in one
   * transaction holding a per-owner lock, so parallel creations cannot all pass one count.
   */
  async createWithinLimits(values: NewUploadSession, limits: CreationLimits): Promise<CreationResult> {
    const metadata = values.metadata && storableMetadata(values.metadata);
    return this.db.transaction(async (tx) => {
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

  /** Any session by id: for the server's own work (repair, sweeps), never for a caller's request. */
  async find(id: string): Promise<UploadSession | undefined> {
    const [row] = await this.db.select().from(uploadSessions).where(eq(uploadSessions.id, id));
    return row;
  }

  /** A session as seen by `ownerId`: theirs, someone else's, or none. */
  async lookup(ownerId: string, id: string): Promise<Owned<UploadSession>> {
    return ownedBy(ownerId, await this.find(id));
  }

  /**
   * Records durable progress. Only a session that may still receive bytes is updated, so a
   * write racing a pause or cancel cannot bring it back; returns false in that case.
   */
  async recordProgress(ownerId: string, id: string, update: ProgressUpdate): Promise<boolean> {
    const chunks = update.chunks && Object.keys(update.chunks).length > 0 ? update.chunks : null;
    const rows = await this.db
      .update(uploadSessions)
      .set({
        uploadOffset: sql`greatest(${uploadSessions.uploadOffset}, ${update.offset})`,
        chunks: chunks ? sql`${uploadSessions.chunks} || ${JSON.stringify(chunks)}::jsonb` : uploadSessions.chunks,
        status: 'uploading',
        expiresAt: update.expiresAt,
        updatedAt: sql`now()`,
      })
      .where(and(mine(ownerId, id), inArray(uploadSessions.status, RECEIVING)))
      .returning({ id: uploadSessions.id });
    return rows.length > 0;
  }

  /** Sets a deferred length once (creation-defer-length). */
  async declareLength(ownerId: string, id: string, length: number, totalChunks: number): Promise<boolean> {
    const rows = await this.db
      .update(uploadSessions)
      .set({ uploadLength: length, totalChunks, updatedAt: sql`now()` })
      .where(and(mine(ownerId, id), sql`${uploadSessions.uploadLength} is null`))
      .returning({ id: uploadSessions.id });
    return rows.length > 0;
  }

  /** Moves a session to `to` if the lifecycle allows it from its current status. */
  async transition(
    ownerId: string,
    id: string,
    to: UploadStatus,
    extra: { error?: string | null } = {},
  ): Promise<TransitionResult> {
    const [row] = await this.db
      .update(uploadSessions)
      .set({ status: to, updatedAt: sql`now()`, ...extra })
      .where(and(mine(ownerId, id), inArray(uploadSessions.status, statusesLeadingTo(to))))
      .returning();
    if (row) return { ok: true, session: row };
    const current = await this.find(id);
    return { ok: false, current: current?.ownerId === ownerId ? current : undefined };
  }

  /**
   * Write-ahead of finalising: the asset id the data will be moved under. The first caller's
   * candidate wins, so two racing finalisers agree on one location; returns the stored id.
   */
  async reserveAssetId(ownerId: string, id: string, candidate: string): Promise<string> {
    const [row] = await this.db
      .update(uploadSessions)
      .set({ assetId: sql`coalesce(${uploadSessions.assetId}, ${candidate}::uuid)` })
      .where(mine(ownerId, id))
      .returning({ assetId: uploadSessions.assetId });
    if (!row?.assetId) throw new Error(`session ${id} vanished while finalising`);
    return row.assetId;
  }

  /**
   * Inserts the asset and marks the session completed in one transaction. Idempotent: a second
   * call finds the asset by session and returns it.
   */
  async complete(sessionId: string, asset: NewAsset): Promise<Asset> {
    return this.db.transaction(async (tx) => {
      // the asset belongs to whoever owns the session, whatever the caller put in it
      const [session] = await tx.select().from(uploadSessions).where(mine(asset.ownerId, sessionId)).for('update');
      if (!session) throw new Error(`session ${sessionId} of ${asset.ownerId} vanished while finalising`);
      await tx.insert(assets).values(asset).onConflictDoNothing({ target: assets.sessionId });
      const [row] = await tx.select().from(assets).where(eq(assets.sessionId, sessionId));
      if (!row) throw new Error(`asset for session ${sessionId} vanished inside its transaction`);
      await tx
        .update(uploadSessions)
        .set({
          status: 'completed',
          assetId: row.id,
          completedAt: sql`coalesce(${uploadSessions.completedAt}, now())`,
          updatedAt: sql`now()`,
        })
        .where(mine(asset.ownerId, sessionId));
      return row;
    });
  }

  async listByOwner(ownerId: string, options: ListOptions): Promise<UploadSession[]> {
    const filter = options.status
      ? and(eq(uploadSessions.ownerId, ownerId), eq(uploadSessions.status, options.status))
      : eq(uploadSessions.ownerId, ownerId);
    return this.db
      .select()
      .from(uploadSessions)
      .where(filter)
      .orderBy(desc(uploadSessions.createdAt), desc(uploadSessions.id))
      .limit(options.limit)
      .offset(options.offset);
  }

  async countByOwner(ownerId: string, status?: UploadStatus): Promise<number> {
    const filter = status
      ? and(eq(uploadSessions.ownerId, ownerId), eq(uploadSessions.status, status))
      : eq(uploadSessions.ownerId, ownerId);
    const [row] = await this.db.select({ n: count() }).from(uploadSessions).where(filter);
    return row?.n ?? 0;
  }

  /** Number of sessions per status, over all owners (the metrics gauge). */
  async countByStatus(): Promise<Partial<Record<UploadStatus, number>>> {
    const rows = await this.db
      .select({ status: uploadSessions.status, n: count() })
      .from(uploadSessions)
      .groupBy(uploadSessions.status);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /**
   * Records one chunk received out of order (the REST chunk route) and moves the offset to the end
   * of the contiguous run of recorded chunks from the start, never backwards. Serialised per
   * session by a row lock so concurrent chunks cannot lose each other's updates.
   */
  async recordChunk(
    ownerId: string,
    id: string,
    chunkNumber: number,
    digest: string,
    expiresAt: Date,
  ): Promise<UploadSession | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(uploadSessions).where(mine(ownerId, id)).for('update');
      if (!row || !RECEIVING.includes(row.status) || row.uploadLength === null) return undefined;
      const chunks = { ...row.chunks, [chunkNumber]: digest };
      let prefix = 0;
      while (String(prefix + 1) in chunks) prefix++;
      const prefixEnd = Math.min(prefix * row.chunkSize, row.uploadLength);
      const [updated] = await tx
        .update(uploadSessions)
        .set({
          chunks,
          uploadOffset: Math.max(row.uploadOffset, prefixEnd),
          status: 'uploading',
          expiresAt,
          updatedAt: sql`now()`,
        })
        .where(eq(uploadSessions.id, id))
        .returning();
      return updated;
    });
  }

  async findMany(ids: readonly string[]): Promise<UploadSession[]> {
    if (ids.length === 0) return [];
    return this.db
      .select()
      .from(uploadSessions)
      .where(inArray(uploadSessions.id, [...ids]));
  }

  async findByAssetIds(assetIds: readonly string[]): Promise<UploadSession[]> {
    if (assetIds.length === 0) return [];
    return this.db
      .select()
      .from(uploadSessions)
      .where(inArray(uploadSessions.assetId, [...assetIds]));
  }

  /**
   * The owner's unfinished final uploads that name part `partId` (concatenation-unfinished): their
   * expiry moves up to `expiresAt`, as the part's own does, since they wait on its bytes.
   */
  async touchFinalsWaitingFor(ownerId: string, partId: string, expiresAt: Date): Promise<UploadSession[]> {
    return this.db
      .update(uploadSessions)
      .set({ expiresAt: sql`greatest(${uploadSessions.expiresAt}, ${expiresAt.toISOString()}::timestamptz)` })
      .where(
        and(
          eq(uploadSessions.ownerId, ownerId),
          eq(uploadSessions.concat, 'final'),
          inArray(uploadSessions.status, RECEIVING),
          sql`${uploadSessions.parts} @> ${JSON.stringify([partId])}::jsonb`,
        ),
      )
      .returning();
  }

  /** Marks the partial uploads of a finished concatenation as used up by its asset. */
  async consumeParts(ownerId: string, ids: readonly string[], assetId: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .update(uploadSessions)
      .set({ status: 'completed', assetId, completedAt: sql`now()`, updatedAt: sql`now()` })
      .where(
        and(
          inArray(uploadSessions.id, [...ids]),
          eq(uploadSessions.ownerId, ownerId),
          eq(uploadSessions.concat, 'partial'),
        ),
      );
  }

  /** Unfinished sessions whose last byte is older than their TTL. */
  async findStale(now: Date, limit: number): Promise<UploadSession[]> {
    return this.db
      .select()
      .from(uploadSessions)
      .where(and(inArray(uploadSessions.status, ACTIVE_STATUSES), lt(uploadSessions.expiresAt, now)))
      .limit(limit);
  }

  /**
   * Sessions with every byte received but no asset yet: finalising was interrupted (asset id
   * reserved) or never ran.
   */
  async findUnfinalized(): Promise<UploadSession[]> {
    return this.db
      .select()
      .from(uploadSessions)
      .where(
        and(
          inArray(uploadSessions.status, RECEIVING),
          notPartial,
          or(
            isNotNull(uploadSessions.assetId),
            eq(uploadSessions.uploadOffset, sql`coalesce(${uploadSessions.uploadLength}, -1)`),
          ),
        ),
      );
  }

  /** Sessions that may still receive bytes or be resumed. */
  async findActive(): Promise<UploadSession[]> {
    return this.db.select().from(uploadSessions).where(inArray(uploadSessions.status, ACTIVE_STATUSES));
  }

  /** Sets a session's offset and chunks back to what is really on disk (crash repair). */
  async resetProgress(id: string, offset: number, chunks: ChunkDigests): Promise<void> {
    await this.db
      .update(uploadSessions)
      .set({ uploadOffset: offset, chunks, updatedAt: sql`now()` })
      .where(eq(uploadSessions.id, id));
  }
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
