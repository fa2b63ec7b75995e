// Named queries over upload_sessions (and the assets row that completes one). Nothing else in the
// code base writes these tables. Creation lives in session-create.ts, the write path's hot
// statements and progress writes in session-progress.ts, the shared shapes in session-types.ts.
import { and, count, desc, eq, inArray, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import {
  type Asset,
  assets,
  type ChunkDigests,
  type NewAsset,
  type NewUploadSession,
  type UploadSession,
  type UploadStatus,
  uploadSessions,
} from './schema.js';
import { createWithinLimits } from './session-create.js';
import { SessionIdentities, type SessionIdentity } from './session-identities.js';
import { recordChunk, resetProgress, SessionStatements } from './session-progress.js';
import {
  type CreationLimits,
  type CreationResult,
  type ListOptions,
  mine,
  type Owned,
  ownedBy,
  type ProgressEntry,
  type ProgressUpdate,
  RECEIVING,
  type TransitionResult,
} from './session-types.js';
import { ACTIVE_STATUSES, statusesLeadingTo } from './status.js';

export type {
  CreationLimits,
  CreationResult,
  ListOptions,
  Owned,
  ProgressEntry,
  ProgressUpdate,
  TransitionResult,
} from './session-types.js';
export { ownedBy } from './session-types.js';

// Parts of a concatenation are not finalised on their own.
const notPartial = or(isNull(uploadSessions.concat), ne(uploadSessions.concat, 'partial'));

export class SessionRepository {
  private readonly statements: SessionStatements;
  private readonly identities = new SessionIdentities();

  /** `reads`: the connections for lock-free reads that answer a request (Database.reads). */
  constructor(
    private readonly db: Db,
    reads: Db = db,
  ) {
    this.statements = new SessionStatements(db, reads);
  }

  /** Inserts a session if its owner is within their caps (session-create.ts). */
  async createWithinLimits(values: NewUploadSession, limits: CreationLimits): Promise<CreationResult> {
    const result = await createWithinLimits(this.db, values, limits);
    if (result.ok) this.identities.remember(result.session);
    return result;
  }

  /** Any session by id: for the server's own work (repair, sweeps), never for a caller's request. */
  async find(id: string, options: { toAnswer?: boolean } = {}): Promise<UploadSession | undefined> {
    const row = await this.statements.find(id, options);
    if (row) this.identities.remember(row);
    return row;
  }

  /**
   * A session as seen by `ownerId`: theirs, someone else's, or none. `toAnswer`: for a request
   * answered without the upload's lock (HEAD), read on the connections meant for that.
   */
  async lookup(ownerId: string, id: string, options: { toAnswer?: boolean } = {}): Promise<Owned<UploadSession>> {
    return ownedBy(ownerId, await this.find(id, options));
  }

  /**
   * What never changes about a session, as seen by `ownerId`: remembered from an earlier read
   * (session-identities.ts), else read now. Status and progress must be read under the lock.
   */
  async identify(ownerId: string, id: string): Promise<Owned<SessionIdentity>> {
    return ownedBy(ownerId, this.identities.get(id) ?? (await this.find(id)));
  }

  /**
   * Records durable progress. Only a session that may still receive bytes is updated, so a
   * write racing a pause or cancel cannot bring it back; returns false in that case.
   */
  async recordProgress(ownerId: string, id: string, update: ProgressUpdate): Promise<boolean> {
    const rows = await this.statements.recordBatch([{ ...update, ownerId, id }]);
    return rows.length > 0;
  }

  /** Records the durable progress of several uploads in one statement; the rows that moved. */
  async recordProgressBatch(entries: readonly ProgressEntry[]): Promise<UploadSession[]> {
    const rows = await this.statements.recordBatch(entries);
    for (const row of rows) this.identities.remember(row);
    return rows;
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
      .returning({ assetId: uploadSessions.assetId })
      .prepare('session_reserve_asset_id')
      .execute();
    if (!row?.assetId) throw new Error(`session ${id} vanished while finalising`);
    return row.assetId;
  }

  /**
   * Inserts the asset and marks the session completed in one transaction; returns both as stored.
   * Idempotent: a second call finds the asset by session and returns it. Every upload ends here,
   * so its statements are prepared (parsed once per connection, as in session-create.ts).
   */
  async complete(sessionId: string, asset: NewAsset): Promise<{ asset: Asset; session: UploadSession }> {
    return this.db.transaction(async (tx) => {
      // the asset belongs to whoever owns the session, whatever the caller put in it
      const [session] = await tx
        .select({ id: uploadSessions.id })
        .from(uploadSessions)
        .where(mine(asset.ownerId, sessionId))
        .for('update')
        .prepare('session_lock_mine')
        .execute();
      if (!session) throw new Error(`session ${sessionId} of ${asset.ownerId} vanished while finalising`);
      const [inserted] = await tx
        .insert(assets)
        .values(asset)
        .onConflictDoNothing({ target: assets.sessionId })
        .returning()
        .prepare('asset_insert')
        .execute();
      // only a repeated finalise finds the row there already
      const row =
        inserted ??
        (
          await tx.select().from(assets).where(eq(assets.sessionId, sessionId)).prepare('asset_by_session').execute()
        )[0];
      if (!row) throw new Error(`asset for session ${sessionId} vanished inside its transaction`);
      const [completed] = await tx
        .update(uploadSessions)
        .set({
          status: 'completed',
          assetId: row.id,
          completedAt: sql`coalesce(${uploadSessions.completedAt}, now())`,
          updatedAt: sql`now()`,
        })
        .where(mine(asset.ownerId, sessionId))
        .returning()
        .prepare('session_complete')
        .execute();
      if (!completed) throw new Error(`session ${sessionId} vanished inside its transaction`);
      return { asset: row, session: completed };
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

  /** Records one chunk received out of order (the REST chunk route; session-progress.ts). */
  recordChunk(
    ownerId: string,
    id: string,
    chunkNumber: number,
    digest: string,
    expiresAt: Date,
  ): Promise<UploadSession | undefined> {
    return recordChunk(this.db, { ownerId, id }, { number: chunkNumber, digest }, expiresAt);
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
  resetProgress(id: string, offset: number, chunks: ChunkDigests): Promise<void> {
    return resetProgress(this.db, id, offset, chunks);
  }
}
