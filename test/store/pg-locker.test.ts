// PgLocker against a real PostgreSQL (skipped without DATABASE_URL): one holder per upload within an
// instance (advisory locks are re-entrant per session, so the in-process claim must refuse the
// second) and across instances; a waiter asks the holder to let go; a lost session frees its locks.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { PgLocker } from '../../store/pg-locker.js';

describe('PgLocker', () => {
  const url = process.env.DATABASE_URL;
  const lockers: PgLocker[] = [];
  const locker = (acquireTimeoutMs = 2000) => {
    const made = new PgLocker({ url: url ?? '', acquireTimeoutMs, pollMs: 20 });
    lockers.push(made);
    return made;
  };
  before(function () {
    if (!url) {
      console.log('      skipped: needs DATABASE_URL (PostgreSQL)');
      this.skip();
    }
  });
  after(async () => {
    await Promise.all(lockers.map((l) => l.close().catch(() => {})));
  });

  const never = new AbortController().signal;
  const id = () => randomBytes(16).toString('hex');

  it('lets one request of an instance hold an upload; a second waits, asks it to let go, then gets it', async () => {
    const instance = locker();
    const upload = id();
    let asked = 0;
    const first = instance.newLock(upload);
    await first.lock(never, async () => {
      asked++;
    });
    const second = instance.newLock(upload);
    let got = false;
    const waiting = second
      .lock(never, async () => {})
      .then(() => {
        got = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(got, 'the second must wait while the first holds the lock').to.equal(false);
    expect(asked, 'the holder was asked to let go').to.equal(1);
    await first.unlock();
    await waiting;
    expect(got).to.equal(true);
    await second.unlock();
  });

  it('keeps an upload locked against another instance until its holder unlocks, and times the waiter out', async () => {
    const a = locker();
    const b = locker(300);
    const upload = id();
    const held = a.newLock(upload);
    let asked = false;
    await held.lock(never, async () => {
      asked = true;
    });
    const error = await b
      .newLock(upload)
      .lock(never, async () => {})
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as { body?: string } | undefined)?.body).to.match(/lock/);
    // the release request travelled through NOTIFY to the other instance
    expect(asked).to.equal(true);
    await held.unlock();
    const later = b.newLock(upload);
    await later.lock(never, async () => {});
    await later.unlock();
  });

  it('frees the locks of an instance whose session ends (as when its process dies)', async () => {
    const a = locker();
    const b = locker();
    const upload = id();
    await a.newLock(upload).lock(never, async () => {});
    await a.close();
    const lock = b.newLock(upload);
    await lock.lock(never, async () => {});
    await lock.unlock();
  });
});
