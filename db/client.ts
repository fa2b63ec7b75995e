// Opens the database: PostgreSQL through `postgres` when a URL is given, else embedded PGlite
// in a directory (held by this process alone, see pglite-lock.ts). Both are drizzle PgDatabase
// instances over the same schema, so repositories do not care which one they get.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { initPgliteDir } from './pglite-init.js';
import { lockDirectory } from './pglite-lock.js';
import { PgliteThread } from './pglite-thread.js';
import { idleTimeoutOf, POSTGRES_CONNECTION } from './postgres-connection.js';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type DatabaseOptions =
  | { kind: 'postgres'; url: string; maxConnections?: number }
  | { kind: 'pglite'; dataDir: string };

export interface Database {
  readonly kind: DatabaseOptions['kind'];
  /** Where it is, for messages: the URL with its password hidden, or the embedded directory. */
  readonly label: string;
  readonly db: Db;
  /**
   * The same database, for rows a crash may lose: commits do not wait for the WAL to reach the
   * disk (synchronous_commit off), so under heavy upload I/O they do not queue behind the data
   * syncs. Only the upload event log uses it; sessions, assets and webhooks use `db`.
   */
  readonly relaxed: Db;
  /**
   * The same database, for the reads a request answers from without taking a lock (HEAD). On
   * PostgreSQL these are the relaxed connections: a statement on them never queues behind a commit
   * that waits for its WAL flush, which under heavy upload I/O is what kept HEAD waiting. On the
   * embedded database each such read takes the next turn, ahead of queued writes.
   */
  readonly reads: Db;
  /** Applies the committed migrations in db/migrations; safe to call on every start. */
  migrate(): Promise<void>;
  /** Cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  /**
   * Runs `fn` only if no other holder of `name` runs it at the same moment, across every process
   * on this database (an advisory lock on PostgreSQL; in-process for the embedded database).
   * Resolves undefined when someone else holds it.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | undefined>;
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.kind === 'postgres' ? openPostgres(options) : openPglite(options);
}

function openPostgres(options: Extract<DatabaseOptions, { kind: 'postgres' }>): Database {
  const client = postgres(options.url, {
    ...POSTGRES_CONNECTION,
    max: options.maxConnections ?? 20,
    // a burst opens the whole pool; idle connections close again instead of holding server slots
    idle_timeout: idleTimeoutOf(options.url),
  });
  const db = drizzlePostgres(client, { schema });
  const relaxedClient = postgres(options.url, {
    ...POSTGRES_CONNECTION,
    max: 4,
    idle_timeout: idleTimeoutOf(options.url),
    connection: { synchronous_commit: 'off' },
  });
  const relaxed = drizzlePostgres(relaxedClient, { schema });
  return {
    kind: 'postgres',
    label: databaseLabel(options),
    db,
    relaxed,
    reads: relaxed,
    migrate: () => migratePostgres(db, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    exclusive: async (name, fn) => {
      const connection = await client.reserve();
      try {
        const [row] = await connection`select pg_try_advisory_lock(hashtextextended(${name}, 1)) as locked`;
        if (row?.locked !== true) return undefined;
        try {
          return await fn();
        } finally {
          await connection`select pg_advisory_unlock(hashtextextended(${name}, 1))`;
        }
      } finally {
        connection.release();
      }
    },
    close: async () => {
      await Promise.all([client.end({ timeout: 5 }), relaxedClient.end({ timeout: 5 })]);
    },
  };
}

async function openPglite(options: Extract<DatabaseOptions, { kind: 'pglite' }>): Promise<Database> {
  // loaded only when used: a server on PostgreSQL does not carry the embedded database's code
  const [{ drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  await mkdir(options.dataDir, { recursive: true });
  const lock = await lockDirectory(options.dataDir);
  let client: PgliteThread;
  try {
    await initPgliteDir(options.dataDir);
    client = await PgliteThread.open(options.dataDir);
  } catch (error) {
    await lock.release();
    throw error;
  }
  // drizzle's PGlite driver calls only query(sql, params, {rowMode}) and transaction(fn), which the
  // thread's client has; its type names the whole PGlite class
  const db = drizzlePglite({ client: client as unknown as PGlite, schema });
  const held = new Set<string>();
  return {
    kind: 'pglite',
    label: databaseLabel(options),
    db,
    // one embedded process: nothing waits on another connection's syncs
    relaxed: db,
    reads: drizzlePglite({ client: client.readsFirst() as unknown as PGlite, schema }),
    migrate: () => migratePglite(db, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    // one process owns an embedded database, so an in-process guard is enough
    exclusive: async (name, fn) => {
      if (held.has(name)) return undefined;
      held.add(name);
      try {
        return await fn();
      } finally {
        held.delete(name);
      }
    },
    close: async () => {
      try {
        await client.close();
      } finally {
        await lock.release();
      }
    },
  };
}

/** The database for messages and logs: a PostgreSQL URL with its password replaced by `***`. */
export function databaseLabel(options: DatabaseOptions): string {
  if (options.kind === 'pglite') return `the embedded database in ${options.dataDir}`;
  try {
    const url = new URL(options.url);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'DATABASE_URL (not a valid URL)';
  }
}
