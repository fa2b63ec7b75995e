// Upload locks shared by every instance on one PostgreSQL database. Requests of this instance
// queue in an in-process lock table first (advisory locks are re-entrant within a session, so
// PostgreSQL alone would let two requests of one instance in); the winner then takes a
// session-level advisory lock, exclusive or shared, on one connection that holds every lock of
// this instance: a crashed instance's locks go with its connection, and a thousand locks cost one
// connection. Local shared holders of a key share one shared advisory lock. Tries and unlocks of
// all uploads go to PostgreSQL grouped (advisory-statements.ts), and a release does not wait for
// its unlock: the next local holder's try follows it on the same session. A waiter that finds
// the lock held elsewhere asks the holder to let go through NOTIFY; a waiter that still cannot get
// it in time gets `locked` (423), which clients retry.
import postgres from 'postgres';
import { POSTGRES_CONNECTION } from '../../db/postgres-connection.js';
import { AdvisoryStatements } from './advisory-statements.js';
import { LockTable } from './lock-table.js';
import {
  type HeldLock,
  type LockMode,
  type LockRequest,
  lockAbandoned,
  lockTimeout,
  type UploadLocker,
} from './upload-locker.js';

const RELEASE_CHANNEL = 'upload_lock_release';

export interface PgLockerOptions {
  url: string;
  acquireTimeoutMs?: number;
  pollMs?: number;
}

/** This instance's advisory lock on one key: taken once, shared by its local shared holders. */
interface Advisory {
  mode: LockMode;
  holders: number;
  taking: Promise<void> | undefined;
}

export class PgLocker implements UploadLocker {
  /** The session every lock of this instance lives on: never idle-closed or recycled. */
  private readonly sql: postgres.Sql;
  private readonly statements: AdvisoryStatements;
  private readonly table = new LockTable();
  private readonly advisory = new Map<string, Advisory>();
  private listening: Promise<unknown> | undefined;
  readonly acquireTimeoutMs: number;
  readonly pollMs: number;

  constructor(options: PgLockerOptions) {
    this.sql = postgres(options.url, {
      ...POSTGRES_CONNECTION,
      max: 1,
      max_lifetime: null,
      // the session and every lock on it are gone: whoever thinks they hold one stops soon
      onclose: () => this.table.requestReleaseAll(),
    });
    this.statements = new AdvisoryStatements(this.sql);
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 20_000;
    this.pollMs = options.pollMs ?? 100;
  }

  async acquire(key: string, request: LockRequest): Promise<HeldLock> {
    await this.listen();
    const deadline = Date.now() + (request.timeoutMs ?? this.acquireTimeoutMs);
    const holder = await this.table.acquire(key, request, deadline);
    try {
      await this.takeAdvisory(key, request, deadline);
    } catch (error) {
      this.table.release(key, holder);
      throw error;
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.dropAdvisory(key);
        this.table.release(key, holder);
      },
    };
  }

  /** Starts listening for release requests from other instances; safe to call more than once. */
  listen(): Promise<unknown> {
    this.listening ??= this.sql.listen(RELEASE_CHANNEL, (key) => this.table.requestRelease(key));
    return this.listening;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  private async takeAdvisory(key: string, request: LockRequest, deadline: number) {
    const { mode } = request;
    for (;;) {
      const held = this.advisory.get(key);
      if (held?.taking) {
        // another local shared holder is taking it for both of us
        await held.taking.catch(() => {});
        continue;
      }
      if (held) {
        held.holders++;
        return;
      }
      const entry: Advisory = { mode, holders: 1, taking: undefined };
      entry.taking = this.poll(key, request, deadline);
      this.advisory.set(key, entry);
      try {
        await entry.taking;
        entry.taking = undefined;
        return;
      } catch (error) {
        this.advisory.delete(key);
        throw error;
      }
    }
  }

  private async poll(key: string, request: LockRequest, deadline: number) {
    const { mode, signal } = request;
    let asked = request.polite === true;
    for (;;) {
      if (signal?.aborted) throw lockAbandoned();
      if (await this.statements.run(mode === 'exclusive' ? 'lock' : 'lock_shared', key)) return;
      if (!asked) {
        asked = true;
        await this.sql`select pg_notify(${RELEASE_CHANNEL}, ${key})`;
      }
      if (Date.now() >= deadline) throw lockTimeout();
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /**
   * Lets go of this instance's advisory lock once its last local holder has. Not awaited: the
   * statement fails only with the session it runs on, and a lost session takes its locks along.
   */
  private dropAdvisory(key: string): void {
    const held = this.advisory.get(key);
    if (!held || --held.holders > 0) return;
    this.advisory.delete(key);
    this.statements.run(held.mode === 'exclusive' ? 'unlock' : 'unlock_shared', key).catch(() => {});
  }

  /** Advisory statements sent and the tries and unlocks they carried (metrics, tests). */
  get statementStats(): { statements: number; ops: number } {
    return this.statements.stats;
  }
}
