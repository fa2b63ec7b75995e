// The embedded database on its own thread: queries in both row modes with PostgreSQL's text for
// timestamps (as drizzle expects), transactions that commit or roll back as a whole, errors that
// keep PostgreSQL's fields (a unique violation's code), a transaction that opens with its first
// query and holds the database until it ends, reads marked first that go ahead of queued writes,
// and a closed thread that says so.
import path from 'node:path';
import { expect } from 'chai';
import { initPgliteDir } from '../../db/pglite-init.js';
import { PgliteThread } from '../../db/pglite-thread.js';
import { removeDir, tempDir } from '../helpers/files.js';

describe('the embedded database thread', function () {
  this.timeout(60_000);
  let dir: string;
  let thread: PgliteThread;

  before(async () => {
    dir = await tempDir('upload-test-pglite-thread-');
    const dataDir = path.join(dir, 'pglite');
    await initPgliteDir(dataDir);
    thread = await PgliteThread.open(dataDir);
    await thread.query('create table t (id int primary key, at timestamptz not null default now(), note text)');
  });
  after(async () => {
    await thread?.close();
    await removeDir(dir);
  });

  it('answers in object and array rows, timestamps as PostgreSQL text', async () => {
    await thread.query('insert into t (id, note) values ($1, $2)', [1, 'one']);
    const objects = await thread.query('select id, at, note from t where id = $1', [1]);
    const [row] = objects.rows as { id: number; at: unknown; note: string }[];
    expect(row?.id).to.equal(1);
    expect(row?.note).to.equal('one');
    expect(row?.at, 'timestamptz stays text').to.be.a('string');
    const arrays = await thread.query('select id, note from t where id = $1', [1], { rowMode: 'array' });
    expect(arrays.rows).to.deep.equal([[1, 'one']]);
  });

  it('commits a transaction as a whole, and rolls it back as a whole when its work throws', async () => {
    await thread.transaction(async (tx) => {
      await tx.query('insert into t (id, note) values (10, $1)', ['kept']);
      await tx.query('insert into t (id, note) values (11, $1)', ['kept']);
    });
    const failed = await thread
      .transaction(async (tx) => {
        await tx.query('insert into t (id, note) values (20, $1)', ['dropped']);
        throw new Error('changed my mind');
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((failed as Error).message).to.equal('changed my mind');
    const ids = await thread.query('select id from t where id >= 10 order by id', [], { rowMode: 'array' });
    expect(ids.rows).to.deep.equal([[10], [11]]);
  });

  it("keeps PostgreSQL's error fields across the thread", async () => {
    const error = await thread.query('insert into t (id) values (1)').then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error).to.be.instanceOf(Error);
    expect(error?.code, 'SQLSTATE of a unique violation').to.equal('23505');
    expect(error?.message).to.match(/duplicate key/);
    // the thread still serves after a failed statement
    expect((await thread.query('select count(*)::int as n from t')).rows).to.deep.equal([{ n: 3 }]);
  });

  it('opens a transaction with its first query: a failing first query rolls back with its own error', async () => {
    const error = await thread
      .transaction(async (tx) => {
        await tx.query('insert into t (id, note) values (1, $1)', ['duplicate']);
      })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(error?.code, 'the unique violation, not a complaint about the transaction').to.equal('23505');
    expect(await thread.transaction(async () => 'no queries')).to.equal('no queries');
    const after = await thread.transaction(async (tx) => (await tx.query('select count(*)::int as n from t')).rows);
    expect(after, 'the thread still serves transactions').to.have.length(1);
  });

  it('lets a query from outside wait until an open transaction commits', async () => {
    let outside: Promise<unknown[]> | undefined;
    await thread.transaction(async (tx) => {
      await tx.query('insert into t (id, note) values (40, $1)', ['first']);
      outside = thread
        .query('select id from t where id in (40, 41) order by id', [], { rowMode: 'array' })
        .then((r) => r.rows);
      await tx.query('insert into t (id, note) values (41, $1)', ['second']);
    });
    expect(await outside, 'both rows, seen only after the commit').to.deep.equal([[40], [41]]);
  });

  it('runs a read marked first ahead of the writes queued before it, and the rest in order', async () => {
    const finished: string[] = [];
    const queued: Promise<unknown>[] = [];
    let seenFirst: unknown[] = [];
    let seenLast: unknown[] = [];
    await thread.transaction(async (tx) => {
      // the transaction holds the database while everything below queues
      await tx.query('insert into t (id, note) values (50, $1)', ['held']);
      for (let id = 51; id <= 55; id++) {
        queued.push(thread.query('insert into t (id) values ($1)', [id]).then(() => finished.push(`write ${id}`)));
      }
      queued.push(
        thread.query('select id from t where id between 50 and 59 order by id', [], { rowMode: 'array' }).then((r) => {
          seenLast = r.rows;
          finished.push('plain read');
        }),
      );
      queued.push(
        thread
          .readsFirst()
          .query('select id from t where id between 50 and 59 order by id', [], { rowMode: 'array' })
          .then((r) => {
            seenFirst = r.rows;
            finished.push('first read');
          }),
      );
    });
    await Promise.all(queued);
    expect(finished).to.deep.equal([
      'first read',
      'write 51',
      'write 52',
      'write 53',
      'write 54',
      'write 55',
      'plain read',
    ]);
    expect(seenFirst, 'the committed row, none of the writes queued before it').to.deep.equal([[50]]);
    expect(seenLast).to.deep.equal([[50], [51], [52], [53], [54], [55]]);
  });

  it('refuses queries once closed, saying the thread is gone', async () => {
    const dataDir = path.join(dir, 'second');
    await initPgliteDir(dataDir);
    const second = await PgliteThread.open(dataDir);
    await second.close();
    const error = await second.query('select 1').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.match(/embedded database's thread exited/);
  });
});
