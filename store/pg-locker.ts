// A @tus/server Locker shared by every instance on one PostgreSQL database. Each held lock is a
// session-level advisory lock on its own reserved connection, so a crashed holder's lock goes
// with its connection. A waiter asks the holder to let go (tus's lock-release request) through
// NOTIFY, which reaches the holder on whichever instance it runs; the holder's request then ends
// at a durable offset and unlocks. A waiter that still cannot get the lock in time gets
// ERR_LOCK_TIMEOUT, which the server answers with 423 so clients retry.
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';
import postgres from 'postgres';

const RELEASE_CHANNEL = 'upload_lock_release';

export interface PgLockerOptions {
  url: string;
  /** Connections for held locks: the most PATCHes this instance writes at once. */
  maxConnections?: number;
  acquireTimeoutMs?: number;
  pollMs?: number;
}

export class PgLocker implements Locker {
  private readonly sql: postgres.Sql;
  private readonly holders = new Map<string, RequestRelease>();
  private listening: Promise<unknown> | undefined;
  readonly acquireTimeoutMs: number;
  readonly pollMs: number;

  constructor(options: PgLockerOptions) {
    // idle connections close after 30 s; a reserved one (holding a lock) is never idle
    this.sql = postgres(options.url, { max: options.maxConnections ?? 48, idle_timeout: 30, onnotice: () => {} });
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
    await this.sql.end({ timeout: 5 });
  }

  /** @internal */
  async tryLock(id: string): Promise<postgres.ReservedSql | undefined> {
    const connection = await this.sql.reserve();
    try {
      const [row] = await connection`select pg_try_advisory_lock(hashtextextended(${id}, 0)) as locked`;
      if (row?.locked === true) return connection;
    } catch (error) {
      connection.release();
      throw error;
    }
    connection.release();
    return undefined;
  }

  /** @internal */
  async requestRelease(id: string): Promise<void> {
    await this.sql`select pg_notify(${RELEASE_CHANNEL}, ${id})`;
  }

  /** @internal */
  hold(id: string, release: RequestRelease): void {
    this.holders.set(id, release);
  }

  /** @internal */
  drop(id: string): void {
    this.holders.delete(id);
  }
}

class PgLock implements Lock {
  private connection: postgres.ReservedSql | undefined;

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
      const connection = await this.locker.tryLock(this.id);
      if (connection) {
        this.connection = connection;
        this.locker.hold(this.id, requestRelease);
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
    const connection = this.connection;
    if (!connection) return;
    this.connection = undefined;
    this.locker.drop(this.id);
    try {
      await connection`select pg_advisory_unlock(hashtextextended(${this.id}, 0))`;
    } finally {
      connection.release();
    }
  }
}
