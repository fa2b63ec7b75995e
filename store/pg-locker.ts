// A @tus/server Locker shared by every instance on one PostgreSQL database. Every lock this
// instance holds is a session-level advisory lock on one connection of its own, so a crashed
// instance's locks go with its connection, and holding a thousand locks costs one connection, not
// a thousand. Advisory locks are re-entrant within a session, so locks of this instance are also
// kept in a map: a second request here for an upload held here waits like one from elsewhere. A
// waiter asks the holder to let go (tus's lock-release request): in process directly, and through
// NOTIFY for holders on other instances; the holder's request then ends at a durable offset and
// unlocks. A waiter that still cannot get the lock in time gets ERR_LOCK_TIMEOUT, which the server
// answers with 423 so clients retry.
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';
import postgres from 'postgres';

const RELEASE_CHANNEL = 'upload_lock_release';

export interface PgLockerOptions {
  url: string;
  acquireTimeoutMs?: number;
  pollMs?: number;
}

export class PgLocker implements Locker {
  /** The session every lock of this instance lives on: never idle-closed or recycled. */
  private readonly sql: postgres.Sql;
  private readonly holders = new Map<string, RequestRelease>();
  private readonly claiming = new Set<string>();
  private listening: Promise<unknown> | undefined;
  readonly acquireTimeoutMs: number;
  readonly pollMs: number;

  constructor(options: PgLockerOptions) {
    this.sql = postgres(options.url, {
      max: 1,
      max_lifetime: null,
      onnotice: () => {},
      // the session and every lock on it are gone: whoever thinks they hold one stops soon
      onclose: () => this.releaseAll(),
    });
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 20_000;
    this.pollMs = options.pollMs ?? 100;
  }

  newLock(id: string): Lock {
    return new PgLock(this, id);
  }

  /** Starts listening for release requests; safe to call more than once. */
  listen(): Promise<unknown> {
    this.listening ??= this.sql.listen(RELEASE_CHANNEL, (id) => {
      void this.holders.get(id)?.();
    });
    return this.listening;
  }

  async close(): Promise<void> {
    this.holders.clear();
    await this.sql.end({ timeout: 5 });
  }

  /** @internal True when this instance now holds `id`. */
  async tryLock(id: string, release: RequestRelease): Promise<boolean> {
    if (this.holders.has(id) || this.claiming.has(id)) return false;
    // claimed here before asking PostgreSQL: the session would grant a second request of this
    // instance the same lock again (advisory locks are re-entrant)
    this.claiming.add(id);
    try {
      const [row] = await this.sql`select pg_try_advisory_lock(hashtextextended(${id}, 0)) as locked`;
      if (row?.locked !== true) return false;
      this.holders.set(id, release);
      return true;
    } finally {
      this.claiming.delete(id);
    }
  }

  /** @internal Asks the holder of `id` to let go, wherever it runs. */
  async requestRelease(id: string): Promise<void> {
    const local = this.holders.get(id);
    if (local) {
      void local();
      return;
    }
    await this.sql`select pg_notify(${RELEASE_CHANNEL}, ${id})`;
  }

  /** @internal */
  async unlock(id: string): Promise<void> {
    if (!this.holders.delete(id)) return;
    await this.sql`select pg_advisory_unlock(hashtextextended(${id}, 0))`;
  }

  private releaseAll(): void {
    for (const release of this.holders.values()) void release();
  }
}

class PgLock implements Lock {
  private held = false;

  constructor(
    private readonly locker: PgLocker,
    private readonly id: string,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    await this.locker.listen();
    const deadline = Date.now() + this.locker.acquireTimeoutMs;
    let asked = false;
    for (;;) {
      if (signal.aborted) throw ERRORS.ABORTED;
      if (await this.locker.tryLock(this.id, requestRelease)) {
        this.held = true;
        return;
      }
      if (!asked) {
        asked = true;
        await this.locker.requestRelease(this.id);
      }
      if (Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await new Promise((resolve) => setTimeout(resolve, this.locker.pollMs));
    }
  }

  async unlock(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.locker.unlock(this.id);
  }
}
