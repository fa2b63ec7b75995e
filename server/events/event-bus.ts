// Tells progress subscribers that an upload has new events. With PostgreSQL every instance
// LISTENs on one channel (the insert NOTIFYs on commit), so a subscriber on one instance hears of
// uploads written through another; with the embedded database it is in process, shared by every
// server opened on the same database object.
import postgres from 'postgres';
import type { Database } from '../../db/client.js';
import { POSTGRES_CONNECTION } from '../../db/postgres-connection.js';
import { UPLOAD_EVENTS_CHANNEL } from '../../db/upload-event-repository.js';
import type { Logger } from '../ops/logger.js';

export interface EventBus {
  /** Calls `fn` whenever upload `sessionId` may have new events; returns the unsubscribe. */
  subscribe(sessionId: string, fn: () => void): () => void;
  /** Announces a committed event (a no-op where the database announces it). */
  published(sessionId: string): void;
  /** Subscriptions open right now. */
  readonly subscriberCount: number;
  close(): Promise<void>;
}

class Fanout {
  private readonly subscribers = new Map<string, Set<() => void>>();
  count = 0;

  subscribe(sessionId: string, fn: () => void): () => void {
    let set = this.subscribers.get(sessionId);
    if (!set) {
      set = new Set();
      this.subscribers.set(sessionId, set);
    }
    const entry = () => fn();
    set.add(entry);
    this.count++;
    return () => {
      if (!set.delete(entry)) return;
      this.count--;
      if (set.size === 0) this.subscribers.delete(sessionId);
    };
  }

  notify(sessionId: string): void {
    for (const fn of this.subscribers.get(sessionId) ?? []) fn();
  }

  notifyAll(): void {
    for (const set of this.subscribers.values()) for (const fn of set) fn();
  }
}

const inProcess = new WeakMap<Database, Fanout>();

export async function openEventBus(
  database: Database,
  databaseUrl: string | undefined,
  log: Logger,
): Promise<EventBus> {
  if (!databaseUrl) {
    let fanout = inProcess.get(database);
    if (!fanout) {
      fanout = new Fanout();
      inProcess.set(database, fanout);
    }
    const shared = fanout;
    const own = new Set<() => void>();
    return {
      subscribe(sessionId, fn) {
        const unsubscribe = shared.subscribe(sessionId, fn);
        own.add(unsubscribe);
        return () => {
          own.delete(unsubscribe);
          unsubscribe();
        };
      },
      published: (sessionId) => shared.notify(sessionId),
      get subscriberCount() {
        return own.size;
      },
      async close() {
        for (const unsubscribe of own) unsubscribe();
        own.clear();
      },
    };
  }
  const fanout = new Fanout();
  const client = postgres(databaseUrl, { ...POSTGRES_CONNECTION, max: 1 });
  let listening = false;
  const { unlisten } = await client.listen(
    UPLOAD_EVENTS_CHANNEL,
    (sessionId) => fanout.notify(sessionId),
    () => {
      // after a reconnect notifications may have been missed: every subscriber looks again
      if (listening) log.warn('progress notifications reconnected');
      listening = true;
      fanout.notifyAll();
    },
  );
  return {
    subscribe: (sessionId, fn) => fanout.subscribe(sessionId, fn),
    published: () => {},
    get subscriberCount() {
      return fanout.count;
    },
    async close() {
      await unlisten().catch(() => {});
      await client.end({ timeout: 5 });
    },
  };
}
