// The tables of the schema and how many rows each holds: what the move to PostgreSQL copies and
// checks, and what tells a used embedded database from an empty one.
import { count, getTableName, is, sql } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './client.js';
import * as schema from './schema.js';

/** Every table of db/schema.ts, so a table added later is copied and counted too. */
export const SCHEMA_TABLES: readonly PgTable[] = (Object.values(schema) as unknown[]).filter(
  (value): value is PgTable => is(value, PgTable),
);

/** Rows per table name; a table the database does not have (never migrated) counts 0. */
export async function rowCounts(db: Db): Promise<Map<string, number>> {
  const present = new Set(
    (
      await db
        .select({ name: sql<string>`table_name` })
        .from(sql`information_schema.tables`)
        .where(sql`table_schema = current_schema()`)
    ).map((row) => row.name),
  );
  const counts = new Map<string, number>();
  for (const table of SCHEMA_TABLES) {
    const name = getTableName(table);
    if (!present.has(name)) {
      counts.set(name, 0);
      continue;
    }
    const [row] = await db.select({ n: count() }).from(table);
    counts.set(name, row?.n ?? 0);
  }
  return counts;
}
