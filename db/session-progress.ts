// The hot queries of the write path, prepared once per database: a session by id (every request
// reads one), and the durable progress of many uploads recorded in one statement (group commit,
// store/write/group-committer.ts). Also the other progress writes: one REST chunk, crash repair.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { type ChunkDigests, type UploadSession, uploadSessions } from './schema.js';
import { mine, type ProgressEntry, RECEIVING } from './session-types.js';

/** The batch as one jsonb array: one statement and one plan whatever the batch's size. */
const batchRows = sql`jsonb_to_recordset(${sql.placeholder('batch')}::jsonb)
  as p(id text, owner_id text, "offset" bigint, chunks jsonb, expires_at timestamptz)`;

export class SessionStatements {
  private readonly byId;
  private readonly byIdToAnswer;
  private readonly progress;

  /** `reads`: where a request's lock-free read goes (Database.reads); `db` when not given. */
  constructor(db: Db, reads: Db = db) {
    this.byId = sessionById(db);
    this.byIdToAnswer = reads === db ? this.byId : sessionById(reads);
    this.progress = db
      .update(uploadSessions)
      .set({
        uploadOffset: sql`greatest(${uploadSessions.uploadOffset}, p."offset")`,
        chunks: sql`${uploadSessions.chunks} || p.chunks`,
        status: 'uploading',
        expiresAt: sql`p.expires_at`,
        updatedAt: sql`now()`,
      })
      .from(batchRows)
      .where(
        and(
          eq(uploadSessions.id, sql`p.id`),
          eq(uploadSessions.ownerId, sql`p.owner_id`),
          inArray(uploadSessions.status, RECEIVING),
        ),
      )
      .returning()
      .prepare('record_progress_batch');
  }

  /** `toAnswer`: on the connections for reads that answer a request without a lock (HEAD). */
  async find(id: string, { toAnswer = false } = {}): Promise<UploadSession | undefined> {
    const [row] = await (toAnswer ? this.byIdToAnswer : this.byId).execute({ id });
    return row;
  }

  /**
   * Records the durable progress of several uploads at once (one id at most once). Only sessions
   * that may still receive bytes move, so a write racing a pause or cancel cannot bring one back;
   * the rows returned are those that moved, as stored now.
   */
  async recordBatch(entries: readonly ProgressEntry[]): Promise<UploadSession[]> {
    if (entries.length === 0) return [];
    const batch = entries.map((e) => ({
      id: e.id,
      owner_id: e.ownerId,
      offset: e.offset,
      chunks: e.chunks ?? {},
      expires_at: e.expiresAt.toISOString(),
    }));
    // the prepared statement of a driver-generic database is typed loosely; it returns the rows of
    // `returning()`, which are whole session rows
    return (await this.progress.execute({ batch: JSON.stringify(batch) })) as UploadSession[];
  }
}

function sessionById(db: Db) {
  return db
    .select()
    .from(uploadSessions)
    .where(eq(uploadSessions.id, sql.placeholder('id')))
    .prepare('session_by_id');
}

/**
 * Records one chunk received out of order (the REST chunk route) and moves the offset to the end
 * of the contiguous run of recorded chunks from the start, never backwards. Serialised per
 * session by a row lock so concurrent chunks cannot lose each other's updates.
 */
export function recordChunk(
  db: Db,
  owned: { ownerId: string; id: string },
  chunk: { number: number; digest: string },
  expiresAt: Date,
): Promise<UploadSession | undefined> {
  const { ownerId, id } = owned;
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(uploadSessions).where(mine(ownerId, id)).for('update');
    if (!row || !RECEIVING.includes(row.status) || row.uploadLength === null) return undefined;
    const chunks = { ...row.chunks, [chunk.number]: chunk.digest };
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

/** Sets a session's offset and chunks back to what is really on disk (crash repair). */
export async function resetProgress(db: Db, id: string, offset: number, chunks: ChunkDigests): Promise<void> {
  await db
    .update(uploadSessions)
    .set({ uploadOffset: offset, chunks, updatedAt: sql`now()` })
    .where(eq(uploadSessions.id, id));
}
