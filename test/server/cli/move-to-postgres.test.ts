// From the embedded database to PostgreSQL, as issue 16 found it and as it is meant to go. Assets
// made by a server on PGlite; the same DATA_DIR then pointed at a new PostgreSQL database and swept
// with a 1 s ORPHAN_GRACE (`npm run cleanup`): the start is refused (exit 2, one line naming
// DATA_DIR, the database with its password hidden, and the move command) and every asset file is
// still there, byte-identical, nothing quarantined. Then `npm run db:move-to-postgres` copies the
// rows and the identity, and a server on PostgreSQL serves every asset byte-identical over
// GET /storage/assets/:id/download, resumes the unfinished upload, and its sweep finds no orphan.
// Needs DATABASE_URL (it makes a database of its own beside it).
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { getTableName, sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../../../db/client.js';
import { SCHEMA_TABLES } from '../../../db/table-rows.js';
import type { CleanupReport } from '../../../server/ops/cleanup.js';
import { removeDir, sha256, sha256File, tempDir } from '../../helpers/files.js';
import { expectDownloadEquals } from '../../helpers/integrity.js';
import { type ScratchDatabase, scratchDatabase } from '../../helpers/postgres.js';
import { runScript } from '../../helpers/scripts.js';
import { startConfiguredServer } from '../../helpers/server.js';
import { TEST_JWT_SECRET, uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadFile } from '../../helpers/tus.js';
import { createUpload, headOffset, patchUpload } from '../../helpers/tus-http.js';
import { dataFileOf, listFiles } from '../../helpers/uploads.js';
import { waitFor } from '../../helpers/wait.js';

const MiB = 1024 * 1024;
const PASSWORD = 'hidden-pw-5678';

describe('moving an installation from the embedded database to PostgreSQL', () => {
  const owner = uniqueOwner('move');
  let dir: string;
  let dataDir: string;
  let target: ScratchDatabase | undefined;
  let targetUrl: string;
  const sources = new Map<string, string>(); // asset id -> source file
  let assetFiles: Map<string, string>; // path under DATA_DIR -> sha256
  let identity: string;
  let unfinished: { id: string; bytes: Buffer; sent: number };

  before(async function () {
    if (!process.env.DATABASE_URL) {
      console.log('      skipped: needs DATABASE_URL (PostgreSQL)');
      this.skip();
    }
    this.timeout(120_000);
    dir = await tempDir();
    dataDir = await tempDir('upload-test-move-');
    target = await scratchDatabase('move');
    const url = new URL(target?.url ?? '');
    url.password = PASSWORD; // trust authentication ignores it; no message may show it
    targetUrl = url.toString();

    const embedded = await startConfiguredServer(dataDir, { DATABASE_URL: '', CHUNK_SIZE: '5MiB' });
    try {
      for (const size of [0, 300_000, 6 * MiB + 17]) {
        const file = path.join(dir, `source-${size}.bin`);
        await writeFile(file, randomBytes(size));
        const { assetId } = await tusUploadFile(embedded.tusUrl, file, { owner });
        if (!assetId) throw new Error('no asset id');
        sources.set(assetId, file);
      }
      const bytes = randomBytes(3 * MiB);
      const created = await createUpload(embedded.tusUrl, { owner, length: bytes.length });
      const sent = 100_000;
      expect((await patchUpload(created.url, 0, bytes.subarray(0, sent), { owner })).status).to.equal(204);
      unfinished = { id: created.id, bytes, sent };
    } finally {
      await embedded.close();
    }
    identity = (JSON.parse(await readFile(path.join(dataDir, 'identity.json'), 'utf8')) as { identity: string })
      .identity;
    assetFiles = await digests(path.join(dataDir, 'assets'));
    expect(assetFiles.size, 'one file per asset').to.equal(sources.size);
  });
  after(async () => {
    await target?.drop();
    if (dataDir) await removeDir(dataDir);
    if (dir) await removeDir(dir);
  });

  it('refuses a sweep with the same DATA_DIR on PostgreSQL: every asset file stays, byte-identical', async function () {
    this.timeout(60_000);
    const newest = Math.max(...(await Promise.all([...assetFiles.keys()].map(async (f) => (await stat(f)).mtimeMs))));
    await waitFor(() => Date.now() > newest + 1_100, { what: 'the assets to be older than ORPHAN_GRACE (1 s)' });

    const run = await runScript('cleanup', {
      DATA_DIR: dataDir,
      DATABASE_URL: targetUrl,
      ORPHAN_GRACE: '1s',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
    });
    expect(run.code, run.stdout + run.stderr).to.equal(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).to.have.length(1);
    expect(lines[0]).to.include(
      `DATA_DIR=${dataDir} belongs to the embedded database in ${path.join(dataDir, 'pglite')}`,
    );
    expect(lines[0]).to.include(`(identity ${identity})`);
    expect(lines[0]).to.include(`postgres://postgres:***@`);
    expect(lines[0]).to.include('npm run db:move-to-postgres');
    expect(run.stdout + run.stderr).not.to.include(PASSWORD);
    expect(run.stdout, 'no sweep ran').not.to.include('cleanup sweep');

    expect(await digests(path.join(dataDir, 'assets')), 'every asset file, byte-identical').to.deep.equal(assetFiles);
    expect(
      await readFile(dataFileOf(dataDir, unfinished.id)).then((b) => b.subarray(0, unfinished.sent)),
    ).to.deep.equal(unfinished.bytes.subarray(0, unfinished.sent));
    expect(await readdir(path.join(dataDir, 'quarantine')).catch(() => []), 'nothing quarantined').to.deep.equal([]);
  });

  it('npm run db:move-to-postgres carries rows and identity over; a server on PostgreSQL serves every asset byte-identical', async function () {
    this.timeout(120_000);
    const env = { DATA_DIR: dataDir, DATABASE_URL: targetUrl };
    const moved = await runScript('db:move-to-postgres', env);
    expect(moved.code, moved.stderr).to.equal(0);
    expect(moved.stdout).to.include(`moved the embedded database of DATA_DIR=${dataDir} to postgres://postgres:***@`);
    expect(moved.stdout).to.match(/upload_sessions 4\b/);
    expect(moved.stdout).to.match(/assets 3\b/);
    expect(moved.stdout).to.include('next: start the server with DATABASE_URL');
    expect(moved.stdout + moved.stderr).not.to.include(PASSWORD);

    const file = JSON.parse(await readFile(path.join(dataDir, 'identity.json'), 'utf8')) as Record<string, string>;
    expect(file.identity, 'the identity carried over').to.equal(identity);
    expect(file.database).to.equal(targetUrl.replace(PASSWORD, '***'));
    const names = await readdir(dataDir);
    expect(names).not.to.include('pglite');
    expect(
      names.filter((n) => n.startsWith('pglite.moved-')),
      'the old database set aside',
    ).to.have.length(1);
    expect(await digests(path.join(dataDir, 'assets')), 'the files were not touched').to.deep.equal(assetFiles);
    const aside = path.join(dataDir, names.find((n) => n.startsWith('pglite.moved-')) ?? '');
    await expectSameRows(aside, target?.url ?? '');

    const server = await startConfiguredServer(dataDir, { DATABASE_URL: targetUrl, ORPHAN_GRACE: '1ms' });
    try {
      for (const [assetId, source] of sources) {
        await expectDownloadEquals(server.url, owner, assetId, source, path.join(dir, `${assetId}.download`));
      }
      const resumeUrl = `${server.tusUrl}/${unfinished.id}`;
      expect(await headOffset(resumeUrl, owner), 'the unfinished upload resumes where it was').to.equal(
        unfinished.sent,
      );
      const rest = await patchUpload(resumeUrl, unfinished.sent, unfinished.bytes.subarray(unfinished.sent), { owner });
      expect(rest.status, rest.body).to.equal(204);
      const finishedId = rest.headers.get('upload-asset-id') ?? '';
      const finished = await server.assets.find(finishedId);
      expect(finished?.sha256).to.equal(sha256(unfinished.bytes));

      const report = (await server.cleanup()) as CleanupReport;
      expect(report).to.include({ orphanUploadFiles: 0, orphanAssetDirs: 0 });
      for (const [assetId, source] of sources) {
        await expectDownloadEquals(server.url, owner, assetId, source, path.join(dir, `${assetId}.again`));
      }
    } finally {
      await server.close();
    }

    // the embedded database is gone from its place: a start without DATABASE_URL is refused, and
    // does not leave a new, empty one behind
    const embedded = await runScript('cleanup', { DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET });
    expect(embedded.code, embedded.stderr).to.equal(2);
    expect(embedded.stderr).to.include('set DATABASE_URL to that database');
    expect(await readdir(dataDir)).not.to.include('pglite');
  });

  it('refuses to move into a database that is not empty, and when there is nothing to move', async function () {
    this.timeout(120_000);
    const again = await runScript('db:move-to-postgres', { DATA_DIR: dataDir, DATABASE_URL: targetUrl });
    expect(again.code).to.equal(2);
    expect(again.stderr).to.include(`DATA_DIR=${dataDir} has no embedded database`);

    const otherDir = await tempDir('upload-test-move-other-');
    try {
      await (await startConfiguredServer(otherDir, { DATABASE_URL: '' })).close();
      const run = await runScript('db:move-to-postgres', { DATA_DIR: otherDir, DATABASE_URL: targetUrl });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr.trim().split('\n')).to.have.length(1);
      expect(run.stderr).to.match(/is not empty \(.*assets: 4 rows.*\)/);
      expect(run.stderr).to.include('(nothing was moved)');
      expect(await readdir(otherDir), 'the embedded database left in place').to.include('pglite');
    } finally {
      await removeDir(otherDir);
    }
  });
});

/** Every table of the set-aside embedded database and of the target holds the same rows, to the microsecond. */
async function expectSameRows(embeddedDir: string, url: string): Promise<void> {
  const before = await openDatabase({ kind: 'pglite', dataDir: embeddedDir });
  const after = await openDatabase({ kind: 'postgres', url, maxConnections: 1 });
  try {
    for (const database of [before, after]) await database.db.execute(sql`set time zone 'UTC'`);
    for (const table of SCHEMA_TABLES) {
      // the first column is the primary key in every table
      const text = (database: Database) =>
        database.db
          .select({ rows: sql<string | null>`json_agg(t)::text` })
          .from(sql`(select * from ${table} order by 1) as t`)
          .then(([row]) => row?.rows);
      const copied = await text(after);
      expect(copied, getTableName(table)).to.equal(await text(before));
    }
  } finally {
    await before.close();
    await after.close();
  }
}

/** sha256 of every file under `dir`, by absolute path. */
async function digests(dir: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const relative of await listFiles(dir)) {
    const file = path.join(dir, relative);
    result.set(file, await sha256File(file));
  }
  return result;
}
