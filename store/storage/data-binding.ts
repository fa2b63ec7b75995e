// Binds a data directory to its database: one identity (a random uuid) kept in DATA_DIR/identity.json
// and in the data_identity row, written at the first start and compared at every start. Files under
// DATA_DIR are only explained by the database they were written for; with another one the cleanup
// sweep would take every asset for an orphan, so a start that pairs them wrongly is refused.
//
//   dir \ database     | has identity I          | has none
//   has identity I     | same: start             | refuse (a new or other database: move or repoint)
//   has identity J     | refuse (another pair)   |   "
//   has none, empty    | adopt I (an instance)   | bind both to a new identity
//   has none, has data | refuse (files of other) | bind both, unless DATABASE_URL is set and DATA_DIR
//                      |                         | holds an embedded database with rows: refuse (move)
import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Database, openDatabase } from '../../db/client.js';
import { IdentityRepository } from '../../db/identity-repository.js';
import { StartRefusedError } from '../../db/start-refused.js';
import { rowCounts } from '../../db/table-rows.js';
import { IDENTITY_FILE, type IdentityFile, readIdentityFile, writeIdentityFile } from './identity-file.js';

export type BindingOutcome = 'verified' | 'bound' | 'adopted' | 'restored';

export interface Binding {
  identity: string;
  outcome: BindingOutcome;
}

/** Where a PGlite database under DATA_DIR lives; the server's embedded database when DATABASE_URL is unset. */
export function embeddedDatabaseDir(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

/** Checks, and at a first start makes, the binding of `dataDir` to `database`; throws StartRefusedError. */
export async function bindDataDir(dataDir: string, database: Database): Promise<Binding> {
  const file = await readIdentityFile(dataDir);
  const identities = new IdentityRepository(database.db);
  const held = await identities.get();
  const where = `DATA_DIR=${dataDir}`;
  // the embedded database lives inside DATA_DIR: the two cannot have been paired by mistake
  const inside = database.kind === 'pglite';

  if (file && held) {
    if (file.identity === held) return { identity: held, outcome: 'verified' };
    throw new StartRefusedError(
      `${where} belongs to another database (identity ${file.identity}, bound to ${file.database}) than ` +
        `${database.label} (identity ${held}): set DATABASE_URL and DATA_DIR to a pair that belongs together`,
    );
  }
  if (file) throw new StartRefusedError(unboundDatabaseMessage(where, file, database));
  if (held) {
    if (inside || !(await holdsData(dataDir))) {
      await writeIdentityFile(dataDir, content(held, database));
      return { identity: held, outcome: inside ? 'restored' : 'adopted' };
    }
    throw new StartRefusedError(foreignFilesMessage(where, database, held));
  }

  if (!inside) {
    const rows = await explainingRowsAt(embeddedDatabaseDir(dataDir));
    if (rows.sessions + rows.assets > 0) {
      throw new StartRefusedError(
        `${where} holds an embedded database (${embeddedDatabaseDir(dataDir)}; upload sessions: ${rows.sessions}, assets: ${rows.assets}) ` +
          `and no identity: its files would be orphans to ${database.label}. Stop the server and run ` +
          '`npm run db:move-to-postgres` to move it there (docs/operations.md, "Moving to PostgreSQL"); if its rows are ' +
          `no longer wanted, move ${embeddedDatabaseDir(dataDir)} out of DATA_DIR first`,
      );
    }
  }
  const claimed = await identities.claim(randomUUID());
  // another instance bound the database a moment ago: this one is then a newcomer, not the first
  if (!claimed.created && !inside && (await holdsData(dataDir))) {
    throw new StartRefusedError(foreignFilesMessage(where, database, claimed.identity));
  }
  await writeIdentityFile(dataDir, content(claimed.identity, database));
  return { identity: claimed.identity, outcome: claimed.created ? 'bound' : 'adopted' };
}

/**
 * Before an embedded database is opened, and so created if missing: a DATA_DIR bound to a database
 * that has no DATA_DIR/pglite (moved to PostgreSQL, or deleted) is refused without leaving a new,
 * empty one behind.
 */
export async function refuseNewEmbedded(dataDir: string, label: string): Promise<void> {
  const file = await readIdentityFile(dataDir);
  if (file && !(await isDirectory(embeddedDatabaseDir(dataDir)))) {
    throw new StartRefusedError(unboundDatabaseMessage(`DATA_DIR=${dataDir}`, file, { kind: 'pglite', label }));
  }
}

function content(identity: string, database: Database): IdentityFile {
  return { identity, database: database.label, boundAt: new Date().toISOString() };
}

function unboundDatabaseMessage(where: string, file: IdentityFile, database: Pick<Database, 'kind' | 'label'>): string {
  const head = `${where} belongs to ${file.database} (identity ${file.identity}), but ${database.label} has no identity (new, or not that database)`;
  if (database.kind === 'postgres' && file.database.startsWith('the embedded database')) {
    return `${head}: to move the embedded database there, stop the server and run \`npm run db:move-to-postgres\` with this DATABASE_URL and DATA_DIR (docs/operations.md, "Moving to PostgreSQL")`;
  }
  if (database.kind === 'pglite') {
    return `${head}: if its data was moved to PostgreSQL, set DATABASE_URL to that database; to start afresh with an empty embedded database, remove ${path.join(where.slice('DATA_DIR='.length), IDENTITY_FILE)} first (unexplained files are then quarantined, not deleted)`;
  }
  return `${head}: set DATABASE_URL to the database this DATA_DIR belongs to, or restore that database from its backup`;
}

function foreignFilesMessage(where: string, database: Database, held: string): string {
  return (
    `${where} holds uploads or assets but no ${IDENTITY_FILE}, and ${database.label} already belongs to a data ` +
    `directory (identity ${held}): point DATA_DIR at that directory (or an empty one, for another instance); if these ` +
    `files do belong to this database, write its identity into ${IDENTITY_FILE} (docs/operations.md, "Data directory and database")`
  );
}

/** True when DATA_DIR holds any file of uploads, assets or quarantine (empty directories do not count). */
export async function holdsData(dataDir: string): Promise<boolean> {
  for (const sub of ['uploads', 'assets', 'quarantine']) {
    if (await containsFile(path.join(dataDir, sub))) return true;
  }
  return false;
}

async function containsFile(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory()) return true;
    if (await containsFile(path.join(dir, entry.name))) return true;
  }
  return false;
}

/** Rows that explain files (sessions and assets) in the embedded database at `dir`; 0 when there is none. */
async function explainingRowsAt(dir: string): Promise<{ sessions: number; assets: number }> {
  if (!(await isDirectory(dir))) return { sessions: 0, assets: 0 };
  const embedded = await openDatabase({ kind: 'pglite', dataDir: dir });
  try {
    const counts = await rowCounts(embedded.db);
    return { sessions: counts.get('upload_sessions') ?? 0, assets: counts.get('assets') ?? 0 };
  } finally {
    await embedded.close();
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
