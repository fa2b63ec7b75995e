// Named queries over assets (and the session columns that follow an asset: its type, its id).
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { type Asset, assets, type NewAsset, uploadSessions } from './schema.js';
import { type Owned, ownedBy } from './session-repository.js';

const mine = (ownerId: string, id: string) => and(eq(assets.id, id), eq(assets.ownerId, ownerId));

export class AssetRepository {
  constructor(private readonly db: Db) {}

  async create(values: NewAsset): Promise<Asset> {
    const [row] = await this.db.insert(assets).values(values).returning();
    if (!row) throw new Error('insert into assets returned no row');
    return row;
  }

  /** Any asset by id: for the server's own work, never for a caller's request. */
  async find(id: string): Promise<Asset | undefined> {
    const [row] = await this.db.select().from(assets).where(eq(assets.id, id));
    return row;
  }

  /** An asset as seen by `ownerId`: theirs, someone else's, or none. */
  async lookup(ownerId: string, id: string): Promise<Owned<Asset>> {
    return ownedBy(ownerId, await this.find(id));
  }

  async findMany(ids: readonly string[]): Promise<Asset[]> {
    if (ids.length === 0) return [];
    return this.db
      .select()
      .from(assets)
      .where(inArray(assets.id, [...ids]));
  }

  async findBySession(sessionId: string): Promise<Asset | undefined> {
    const [row] = await this.db.select().from(assets).where(eq(assets.sessionId, sessionId));
    return row;
  }

  async listByOwner(ownerId: string, limit: number, offset: number): Promise<Asset[]> {
    return this.db
      .select()
      .from(assets)
      .where(eq(assets.ownerId, ownerId))
      .orderBy(desc(assets.createdAt))
      .limit(limit)
      .offset(offset);
  }

  /** Corrects the asset type (and its session's) when a form names it after the file part. */
  async setAssetType(ownerId: string, id: string, assetType: string): Promise<Asset | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.update(assets).set({ assetType }).where(mine(ownerId, id)).returning();
      if (row?.sessionId) {
        await tx
          .update(uploadSessions)
          .set({ assetType })
          .where(and(eq(uploadSessions.id, row.sessionId), eq(uploadSessions.ownerId, ownerId)));
      }
      return row;
    });
  }

  /**
   * Deletes the caller's asset and takes it off the completed sessions that name it (the one that
   * made it, and the parts of a concatenation), in one transaction: no session points at a deleted
   * asset.
   */
  async delete(ownerId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.delete(assets).where(mine(ownerId, id)).returning({ id: assets.id });
      if (rows.length === 0) return false;
      await tx
        .update(uploadSessions)
        .set({ assetId: null, updatedAt: sql`now()` })
        .where(
          and(
            eq(uploadSessions.assetId, id),
            eq(uploadSessions.ownerId, ownerId),
            eq(uploadSessions.status, 'completed'),
          ),
        );
      return true;
    });
  }
}
