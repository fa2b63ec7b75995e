// The upload locks, run against both lockers (in process always; PostgreSQL when DATABASE_URL is
// set): one exclusive holder per upload, shared holders side by side but never beside an exclusive
// one, waiters asking the holders to let go, time-outs answered `locked`, a waiter whose client left
// giving up, and (PostgreSQL) the same across instances, tries and unlocks grouped into few statements,
// and locks freed with a lost session.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { isUploadError } from '../../../store/errors.js';
import { MemoryLocker } from '../../../store/lock/memory-locker.js';
import { PgLocker } from '../../../store/lock/pg-locker.js';
import type { HeldLock, LockRequest, UploadLocker } from '../../../store/lock/upload-locker.js';
import { waitFor } from '../../helpers/wait.js';

const id = () => randomBytes(16).toString('hex');

/** Settles `promise` into what it did, without waiting longer than needed. */
function track<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

/** Yields to the event loop and the database a few times, so a waiter that could move would. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

const factories: [string, (timeoutMs: number) => UploadLocker | undefined][] = [
  ['MemoryLocker', (timeoutMs) => new MemoryLocker(timeoutMs)],
  [
    'PgLocker',
    (timeoutMs) =>
      process.env.DATABASE_URL
        ? new PgLocker({ url: process.env.DATABASE_URL, acquireTimeoutMs: timeoutMs, pollMs: 20 })
        : undefined,
  ],
];

for (const [name, make] of factories) {
  describe(name, () => {
    const lockers: UploadLocker[] = [];
    const locker = (timeoutMs = 2000): UploadLocker => {
      const made = make(timeoutMs);
      if (!made) throw new Error('unreachable: skipped above');
      lockers.push(made);
      return made;
    };
    before(function () {
      if (!make(1)) {
        console.log('      skipped: needs DATABASE_URL (PostgreSQL)');
        this.skip();
      }
    });
    after(async () => {
      await Promise.all(lockers.map((l) => l.close().catch(() => {})));
    });

    it('lets one exclusive holder in; a second waits, asks it to let go, then gets it', async () => {
      const locks = locker();
      const upload = id();
      let asked = 0;
      const first = await locks.acquire(upload, { mode: 'exclusive', onReleaseRequested: () => asked++ });
      const second = track(locks.acquire(upload, { mode: 'exclusive' }));
      await settle();
      expect(second.done, 'the second must wait while the first holds the lock').to.equal(false);
      expect(asked, 'the holder was asked to let go, once').to.equal(1);
      await first.release();
      await waitFor(async () => second.done, { what: 'the second to get the lock' });
      expect(second.error).to.equal(undefined);
      await second.value?.release();
    });

    it('lets shared holders in together, keeps an exclusive request out until the last leaves', async () => {
      const locks = locker();
      const upload = id();
      const asked: string[] = [];
      const shared = (tag: string): LockRequest => ({ mode: 'shared', onReleaseRequested: () => asked.push(tag) });
      const a = await locks.acquire(upload, shared('a'));
      const b = await locks.acquire(upload, shared('b'));
      const writer = track(locks.acquire(upload, { mode: 'exclusive' }));
      // a shared request behind a waiting exclusive one queues too: writers are not starved
      const late = track(locks.acquire(upload, shared('late')));
      await settle();
      expect(writer.done).to.equal(false);
      expect(late.done).to.equal(false);
      expect(asked.sort()).to.deep.equal(['a', 'b']);
      await a.release();
      await settle();
      expect(writer.done, 'one shared holder is still in').to.equal(false);
      await b.release();
      await waitFor(async () => writer.done, { what: 'the exclusive request to get the lock' });
      await settle();
      expect(late.done, 'the late shared request waits for the writer').to.equal(false);
      await writer.value?.release();
      await waitFor(async () => late.done, { what: 'the late shared request' });
      await late.value?.release();
    });

    it('keeps shared requests out while an exclusive holder is in, and asks it to let go', async () => {
      const locks = locker();
      const upload = id();
      let asked = false;
      const held = await locks.acquire(upload, {
        mode: 'exclusive',
        onReleaseRequested: () => {
          asked = true;
        },
      });
      const reader = track(locks.acquire(upload, { mode: 'shared' }));
      await waitFor(async () => asked, { what: 'the holder to be asked' });
      expect(reader.done).to.equal(false);
      await held.release();
      await waitFor(async () => reader.done, { what: 'the shared request' });
      await reader.value?.release();
    });

    it('answers `locked` to a waiter that does not get the lock in time, and lets it in later', async () => {
      const locks = locker(300);
      const upload = id();
      const held = await locks.acquire(upload, { mode: 'exclusive' });
      const error = await locks.acquire(upload, { mode: 'exclusive' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUploadError(error) && error.type).to.equal('locked');
      await held.release();
      const later = await locks.acquire(upload, { mode: 'exclusive' });
      await later.release();
    });

    it('gives up waiting when the request goes away, leaving the queue as it was', async () => {
      const locks = locker();
      const upload = id();
      const held = await locks.acquire(upload, { mode: 'exclusive' });
      const gone = new AbortController();
      const waiter = track(locks.acquire(upload, { mode: 'exclusive', signal: gone.signal }));
      await settle();
      gone.abort();
      await waitFor(async () => waiter.done, { what: 'the abandoned waiter to give up' });
      expect(isUploadError(waiter.error) && waiter.error.type).to.equal('locked');
      await held.release();
      const next: HeldLock = await locks.acquire(upload, { mode: 'exclusive' });
      await next.release();
    });

    it('lets housekeeping only try, without asking the holder to let go', async () => {
      const locks = locker();
      const upload = id();
      let asked = false;
      const held = await locks.acquire(upload, {
        mode: 'exclusive',
        onReleaseRequested: () => {
          asked = true;
        },
      });
      const error = await locks.acquire(upload, { mode: 'exclusive', polite: true, timeoutMs: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUploadError(error) && error.type).to.equal('locked');
      await settle();
      expect(asked, 'the holder was left alone').to.equal(false);
      await held.release();
      const free = await locks.acquire(upload, { mode: 'exclusive', polite: true, timeoutMs: 0 });
      await free.release();
    });

    it('keeps locks of different uploads apart', async () => {
      const locks = locker();
      const a = await locks.acquire(id(), { mode: 'exclusive' });
      const b = await locks.acquire(id(), { mode: 'exclusive' });
      await Promise.all([a.release(), b.release()]);
    });
  });
}

describe('PgLocker across instances', () => {
  const url = process.env.DATABASE_URL;
  const lockers: PgLocker[] = [];
  const locker = (acquireTimeoutMs = 2000) => {
    const made = new PgLocker({ url: url ?? '', acquireTimeoutMs, pollMs: 20 });
    lockers.push(made);
    return made;
  };
  before(function () {
    if (!url) this.skip();
  });
  after(async () => {
    await Promise.all(lockers.map((l) => l.close().catch(() => {})));
  });

  it('keeps an upload locked against another instance, asks the holder through NOTIFY, times out', async () => {
    const [a, b] = [locker(), locker(300)];
    const upload = id();
    let asked = false;
    const held = await a.acquire(upload, {
      mode: 'exclusive',
      onReleaseRequested: () => {
        asked = true;
      },
    });
    const error = await b.acquire(upload, { mode: 'shared' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUploadError(error) && error.type).to.equal('locked');
    await waitFor(async () => asked, { what: 'the release request to travel through NOTIFY' });
    await held.release();
    const later = await b.acquire(upload, { mode: 'exclusive' });
    await later.release();
  });

  it('shares a lock across instances, and keeps the exclusive request of a third out', async () => {
    const [a, b, c] = [locker(), locker(), locker(300)];
    const upload = id();
    const ra = await a.acquire(upload, { mode: 'shared' });
    const rb = await b.acquire(upload, { mode: 'shared' });
    const error = await c.acquire(upload, { mode: 'exclusive' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUploadError(error) && error.type).to.equal('locked');
    await Promise.all([ra.release(), rb.release()]);
    const w = await c.acquire(upload, { mode: 'exclusive' });
    await w.release();
  });

  it('groups the tries and unlocks of many uploads into few statements, and every lock really holds', async () => {
    const [a, b] = [locker(), locker(0)];
    const uploads = Array.from({ length: 50 }, () => id());
    const held = await Promise.all(uploads.map((upload) => a.acquire(upload, { mode: 'exclusive' })));
    // the other instance gets none of them while they are held
    const refused = await Promise.all(
      uploads.map((upload) =>
        b.acquire(upload, { mode: 'exclusive' }).then(
          () => 0,
          () => 1,
        ),
      ),
    );
    expect(
      refused.reduce((x: number, y: number) => x + y, 0),
      'locks refused to the other instance',
    ).to.equal(50);
    // a release followed at once by the next local holder of the same key: the key stays held
    const again = await Promise.all(
      held.map(async (lock, i) => {
        await lock.release();
        return a.acquire(uploads[i] ?? '', { mode: 'shared' });
      }),
    );
    const stillRefused = await Promise.all(
      uploads.map((upload) =>
        b.acquire(upload, { mode: 'exclusive' }).then(
          () => 0,
          () => 1,
        ),
      ),
    );
    expect(
      stillRefused.reduce((x: number, y: number) => x + y, 0),
      'locks refused after the hand-over',
    ).to.equal(50);
    await Promise.all(again.map((lock) => lock.release()));
    const taken = await Promise.all(uploads.map((upload) => waitForLock(b, upload)));
    await Promise.all(taken.map((lock) => lock.release()));
    // the last unlocks are not awaited: their statement may still be on its way back
    await waitFor(async () => a.statementStats.ops >= 200, { what: 'the 200 tries and unlocks to be counted' });
    const { statements, ops } = a.statementStats;
    expect(statements, 'statements that carried them').to.be.below(ops / 10);
  });

  it('frees the locks of an instance whose session ends (as when its process dies)', async () => {
    const [a, b] = [locker(), locker()];
    const upload = id();
    await a.acquire(upload, { mode: 'exclusive' });
    await a.close();
    const lock = await b.acquire(upload, { mode: 'exclusive' });
    await lock.release();
  });
});

/** Takes `key` on `locker`, retrying while the other instance's unlock is still on its way. */
async function waitForLock(locker: PgLocker, key: string): Promise<HeldLock> {
  let lock: HeldLock | undefined;
  await waitFor(
    async () => {
      lock = await locker.acquire(key, { mode: 'exclusive' }).catch(() => undefined);
      return lock !== undefined;
    },
    { what: `the lock of ${key} to be free` },
  );
  if (!lock) throw new Error('unreachable');
  return lock;
}
