// Moves an installation on the embedded database (DATA_DIR/pglite) to PostgreSQL (DATABASE_URL):
// every table's rows copied into an empty, migrated database in one transaction, the data
// directory's identity with them (it is a row), the files left where they are. The embedded
// database is then renamed aside, so a start without DATABASE_URL cannot quietly run on the old
// copy; DATA_DIR/identity.json records the new database.
import { rename, stat } from 'node:fs/promises';
import { type Database, openDatabase } from '../../db/client.js';
import { copyTables } from '../../db/copy-tables.js';
import { StartRefusedError } from '../../db/start-refused.js';
import { rowCounts } from '../../db/table-rows.js';
import { bindDataDir, embeddedDatabaseDir } from '../../store/storage/data-binding.js';
import { writeIdentityFile } from '../../store/storage/identity-file.js';
import type { Config } from '../config/config.js';

export interface MoveReport {
  identity: string;
  /** Rows copied per table. */
  rows: Record<string, number>;
  /** The PostgreSQL database, its password hidden. */
  target: string;
  /** Where the embedded database now is (renamed aside), undefined if renaming it failed. */
  setAside: string | undefined;
}

export async function moveToPostgres(config: Config): Promise<MoveReport> {
  const where = `DATA_DIR=${config.dataDir}`;
  if (!config.databaseUrl) {
    throw new StartRefusedError(
      'DATABASE_URL is not set: set it to an empty PostgreSQL database to move the embedded database into',
    );
  }
  const embeddedDir = embeddedDatabaseDir(config.dataDir);
  if (!(await isDirectory(embeddedDir))) {
    throw new StartRefusedError(`${where} has no embedded database (${embeddedDir}): there is nothing to move`);
  }
  const source = await openDatabase({ kind: 'pglite', dataDir: embeddedDir });
  let sourceOpen = true;
  let target: Database | undefined;
  try {
    await source.migrate();
    // an installation from before identities existed gets one now, in the directory and the rows
    const { identity } = await bindDataDir(config.dataDir, source);
    target = await openDatabase({ kind: 'postgres', url: config.databaseUrl, maxConnections: 2 });
    await target.migrate();
    const occupied = [...(await rowCounts(target.db))].filter(([, n]) => n > 0);
    if (occupied.length > 0) {
      throw new StartRefusedError(
        `${target.label} is not empty (${occupied.map(([name, n]) => `${name}: ${n} rows`).join(', ')}): ` +
          'the move needs a new, empty database (createdb), so nothing in it is overwritten',
      );
    }
    const rows = Object.fromEntries(await copyTables(source.db, target.db));
    sourceOpen = false;
    await source.close();
    const setAside = await setEmbeddedAside(embeddedDir);
    await writeIdentityFile(config.dataDir, {
      identity,
      database: target.label,
      boundAt: new Date().toISOString(),
    });
    return { identity, rows, target: target.label, setAside };
  } finally {
    if (sourceOpen) await source.close();
    await target?.close();
  }
}

/** Renames DATA_DIR/pglite to pglite.moved-<time>; undefined (and left in place) if that fails. */
async function setEmbeddedAside(embeddedDir: string): Promise<string | undefined> {
  const aside = `${embeddedDir}.moved-${new Date().toISOString().replace(/:/g, '-')}`;
  try {
    await rename(embeddedDir, aside);
    return aside;
  } catch {
    return undefined;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** What the command prints when done: what moved and what to do next. */
export function describeMove(config: Config, report: MoveReport): string {
  const rows = Object.entries(report.rows)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const embedded = embeddedDatabaseDir(config.dataDir);
  return [
    `moved the embedded database of DATA_DIR=${config.dataDir} to ${report.target} (${rows}; identity ${report.identity})`,
    `the files under ${config.dataDir} stay where they are and now belong to ${report.target}`,
    report.setAside
      ? `the old embedded database is kept as ${report.setAside}: delete it once the server runs well on PostgreSQL`
      : `could not rename ${embedded}: move it out of DATA_DIR by hand before starting without DATABASE_URL`,
    `next: start the server with DATABASE_URL set to that database and DATA_DIR=${config.dataDir}; ` +
      'a start without DATABASE_URL is now refused',
  ].join('\n');
}
