// The one row of data_identity: which data directory this database belongs to.
import { eq } from 'drizzle-orm';
import type { Db } from './client.js';
import { dataIdentity } from './schema.js';

export class IdentityRepository {
  constructor(private readonly db: Db) {}

  async get(): Promise<string | undefined> {
    const [row] = await this.db
      .select({ identity: dataIdentity.identity })
      .from(dataIdentity)
      .where(eq(dataIdentity.id, 1));
    return row?.identity;
  }

  /**
   * Records `identity` unless the database already has one; returns the identity that holds and
   * whether it is the one given. Instances starting at once on a fresh database agree on one.
   */
  async claim(identity: string): Promise<{ identity: string; created: boolean }> {
    const [row] = await this.db
      .insert(dataIdentity)
      .values({ identity })
      .onConflictDoNothing()
      .returning({ identity: dataIdentity.identity });
    if (row) return { identity: row.identity, created: true };
    const held = await this.get();
    if (!held) throw new Error('data_identity: insert skipped but no row found');
    return { identity: held, created: false };
  }
}
