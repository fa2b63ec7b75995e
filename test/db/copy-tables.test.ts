// copyTables, the core of `npm run db:move-to-postgres`: every table of the schema arrives with the
// same rows, to the microsecond and the last digit, across several batches per table (text, uuid
// and bigserial keys), and the serial sequences continue after the copied ids. From an embedded
// database into PostgreSQL when DATABASE_URL is set (a database of its own), else into a second
// embedded database.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { getTableName, sql } from 'drizzle-orm';
import { type Database, openDatabase } from '../../db/client.js';
import { copyTables } from '../../db/copy-tables.js';
import { assets, dataIdentity, storageUploads, uploadEvents, uploadSessions, webhookOutbox } from '../../db/schema.js';
import { SCHEMA_TABLES } from '../../db/table-rows.js';
import { removeDir, tempDir } from '../helpers/files.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/postgres.js';

async function fill(database: Database): Promise<void> {
  const db = database.db;
  const hour = new Date(Date.now() + 3_600_000);
  for (let i = 0; i < 9; i++) {
    await db.insert(uploadSessions).values({
      id: `session-${i}`,
      ownerId: 'ünïcödé owner',
      filename: `file ${i} "quoted" \\ back`,
      assetType: 'other',
      metadata: { filename: `f${i}`, empty: null, emoji: '🙂' },
      uploadLength: 2 ** 40 + i,
      chunkSize: 5 * 1024 * 1024,
      chunks: { '1': 'a'.repeat(64) },
      status: i % 2 === 0 ? 'completed' : 'uploading',
      parts: i === 3 ? ['session-1', 'session-2'] : null,
      expiresAt: hour,
      // microseconds, which a JavaScript Date would lose on the way
      completedAt: sql`'2026-01-02 03:04:05.123456+00'::timestamptz`,
    });
  }
  for (let i = 0; i < 5; i++) {
    await db.insert(assets).values({
      id: randomUUID(),
      ownerId: 'owner',
      sessionId: `session-${i * 2}`,
      filename: `asset-${i}.bin`,
      assetType: 'other',
      size: 2 ** 41 + i,
      sha256: 'b'.repeat(64),
      storagePath: `assets/owner/${i}/asset-${i}.bin`,
    });
  }
  for (let i = 0; i < 11; i++) {
    await db
      .insert(uploadEvents)
      .values({ sessionId: `session-${i % 9}`, ownerId: 'owner', type: 'progress', payload: { offset: i } });
  }
  for (let i = 0; i < 3; i++) {
    await db
      .insert(webhookOutbox)
      .values({ eventId: randomUUID(), type: 'upload.completed', sessionId: 'session-0', payload: { i } });
  }
  for (let i = 0; i < 6; i++) {
    await db.insert(storageUploads).values({
      sessionId: `session-${i}`,
      objectKey: `prefix/assets/owner/${randomUUID()}/file ${i}.bin`,
      uploadId: `2~${randomUUID()}`,
      chunkSize: 5 * 1024 * 1024,
      parts: { '1': { etag: `"${'c'.repeat(32)}"`, size: 5 * 1024 * 1024 } },
      sealed: i === 5,
    });
  }
  await db.insert(dataIdentity).values({ identity: randomUUID() });
}

/** A table's rows as PostgreSQL's JSON text, in primary key order (the first column of every table). */
async function rowsOf(database: Database, table: (typeof SCHEMA_TABLES)[number]): Promise<string | null | undefined> {
  const [row] = await database.db
    .select({ rows: sql<string | null>`json_agg(t)::text` })
    .from(sql`(select * from ${table} order by 1) as t`);
  return row?.rows;
}

describe('copyTables', () => {
  let dir: string;
  let scratch: ScratchDatabase | undefined;
  let source: Database;
  let target: Database;

  before(async function () {
    this.timeout(60_000);
    dir = await tempDir('upload-test-copy-');
    scratch = await scratchDatabase('copy');
    source = await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'source') });
    target = scratch
      ? await openDatabase({ kind: 'postgres', url: scratch.url, maxConnections: 1 })
      : await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'target') });
    for (const database of [source, target]) {
      await database.migrate();
      // JSON text of timestamps is in the session's time zone: compare in one
      await database.db.execute(sql`set time zone 'UTC'`);
    }
  });
  after(async () => {
    await source?.close();
    await target?.close();
    await scratch?.drop();
    await removeDir(dir);
  });

  it('copies every table in batches, row for row, and continues the serial sequences', async function () {
    this.timeout(60_000);
    await fill(source);
    const copied = await copyTables(source.db, target.db, 4);
    expect(Object.fromEntries(copied)).to.deep.equal({
      upload_sessions: 9,
      assets: 5,
      upload_events: 11,
      webhook_outbox: 3,
      data_identity: 1,
      storage_uploads: 6,
    });
    for (const table of SCHEMA_TABLES) {
      const expected = await rowsOf(source, table);
      expect(expected, `${getTableName(table)} has rows`).to.be.a('string');
      expect(await rowsOf(target, table), getTableName(table)).to.equal(expected);
    }
    expect(await rowsOf(target, uploadSessions)).to.include('"completed_at":"2026-01-02T03:04:05.123456+00:00"');

    const [next] = await target.db
      .insert(uploadEvents)
      .values({ sessionId: 'session-0', ownerId: 'owner', type: 'status', payload: {} })
      .returning({ id: uploadEvents.id });
    const [max] = await source.db.select({ id: sql<number>`max(${uploadEvents.id})::int` }).from(uploadEvents);
    expect(next?.id, 'the sequence continues after the copied ids').to.equal((max?.id ?? 0) + 1);
  });
});
