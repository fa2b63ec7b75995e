// Copies every table of the schema from one database to another with the same migrations, in one
// transaction on the target: rows travel as PostgreSQL's own JSON text (json_agg out,
// json_populate_recordset in) and are never parsed in between, so timestamps keep their
// microseconds and big numbers their digits. Batches follow the primary key, so memory stays
// bounded by one batch whatever the table size. Serial columns' sequences continue past the copy.
import { getTableColumns, getTableName, type SQL, sql } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './client.js';
import { rowCounts, SCHEMA_TABLES } from './table-rows.js';

const BATCH = 1000;
const SERIAL_TYPES = new Set(['PgSerial', 'PgSmallSerial', 'PgBigSerial53', 'PgBigSerial64']);

/** Rows copied per table name. Throws (and copies nothing) if a table's count differs afterwards. */
export async function copyTables(source: Db, target: Db, batchSize = BATCH): Promise<Map<string, number>> {
  const copied = new Map<string, number>();
  await target.transaction(async (tx) => {
    for (const table of SCHEMA_TABLES) {
      copied.set(getTableName(table), await copyTable(source, tx, table, batchSize));
      await continueSequences(tx, table);
    }
    const counts = await rowCounts(tx);
    for (const [name, rows] of copied) {
      if (counts.get(name) !== rows)
        throw new Error(`copy of ${name}: ${rows} rows read, ${counts.get(name)} in the target`);
    }
  });
  return copied;
}

async function copyTable(source: Db, target: Db, table: PgTable, batchSize: number): Promise<number> {
  const key = primaryKey(table);
  let after: string | undefined;
  let total = 0;
  for (;;) {
    const from: SQL =
      after === undefined
        ? sql`(select * from ${table} order by ${key} limit ${batchSize}) as batch`
        : sql`(select * from ${table} where ${key} > cast(${after} as ${sql.raw(castType(key))}) order by ${key} limit ${batchSize}) as batch`;
    const [page] = await source
      .select({
        rows: sql<string | null>`json_agg(batch order by batch.${sql.identifier(key.name)})::text`,
        last: sql<
          string | null
        >`(array_agg(batch.${sql.identifier(key.name)} order by batch.${sql.identifier(key.name)} desc))[1]::text`,
        n: sql<number>`count(*)::int`,
      })
      .from(from);
    if (!page?.rows || !page.last || page.n === 0) return total;
    await target.execute(
      sql`insert into ${table} select * from json_populate_recordset(null::${table}, ${page.rows}::json)`,
    );
    total += page.n;
    if (page.n < batchSize) return total;
    after = page.last;
  }
}

function primaryKey(table: PgTable): PgColumn {
  const keys = Object.values(getTableColumns(table)).filter((column) => column.primary);
  const [key] = keys;
  if (!key || keys.length !== 1) throw new Error(`${getTableName(table)}: copying needs a one-column primary key`);
  return key;
}

/** The column's type for a cast (a serial is its integer type). */
function castType(column: PgColumn): string {
  const type = column.getSQLType();
  return { serial: 'integer', smallserial: 'smallint', bigserial: 'bigint' }[type] ?? type;
}

async function continueSequences(target: Db, table: PgTable): Promise<void> {
  for (const column of Object.values(getTableColumns(table))) {
    if (!SERIAL_TYPES.has(column.columnType)) continue;
    const name = getTableName(table);
    await target.execute(
      sql`select setval(pg_get_serial_sequence(${name}, ${column.name}), coalesce(max(${column}), 1), max(${column}) is not null) from ${table}`,
    );
  }
}
