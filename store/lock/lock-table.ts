// In-process readers-writer locks by key, first come first served: a request waits while the
// lock is held in a conflicting mode or anyone waits before it, and asks the holders that block
// the head of the queue to let go. The memory locker is this table; the PostgreSQL locker puts it
// in front of advisory locks so requests of one instance queue here, not in the database.
import { type LockMode, type LockRequest, lockAbandoned, lockTimeout } from './upload-locker.js';

export interface Holder {
  readonly mode: LockMode;
  readonly polite: boolean;
  readonly onReleaseRequested: (() => void) | undefined;
  asked: boolean;
}

interface Waiter {
  readonly holder: Holder;
  grant(): void;
}

interface Entry {
  holders: Set<Holder>;
  waiters: Waiter[];
}

export class LockTable {
  private readonly entries = new Map<string, Entry>();

  /** Resolves once `key` is held in `request.mode`; fails with `locked` at `deadline`. */
  async acquire(key: string, request: LockRequest, deadline: number): Promise<Holder> {
    const holder: Holder = {
      mode: request.mode,
      polite: request.polite === true,
      onReleaseRequested: request.onReleaseRequested,
      asked: false,
    };
    const entry = this.entry(key);
    if (entry.waiters.length === 0 && compatible(entry.holders, holder.mode)) {
      entry.holders.add(holder);
      return holder;
    }
    if (request.signal?.aborted) throw lockAbandoned();
    await new Promise<void>((resolve, reject) => {
      const leave = (error: Error) => {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        entry.waiters = entry.waiters.filter((w) => w !== waiter);
        this.settle(key, entry);
        reject(error);
      };
      const onAbort = () => leave(lockAbandoned());
      const timer = setTimeout(() => leave(lockTimeout()), Math.max(0, deadline - Date.now()));
      const waiter: Waiter = {
        holder,
        grant: () => {
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      entry.waiters.push(waiter);
      this.askBlockers(entry);
    });
    return holder;
  }

  release(key: string, holder: Holder): void {
    const entry = this.entries.get(key);
    if (!entry?.holders.delete(holder)) return;
    this.settle(key, entry);
  }

  /** Asks every holder of `key` to let go (a waiter elsewhere wants it). */
  requestRelease(key: string): void {
    for (const holder of this.entries.get(key)?.holders ?? []) ask(holder);
  }

  /** Asks every holder of every key to let go (their locks are lost). */
  requestReleaseAll(): void {
    for (const key of this.entries.keys()) this.requestRelease(key);
  }

  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { holders: new Set(), waiters: [] };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Grants the head of the queue while it fits, then asks whoever still blocks it. */
  private settle(key: string, entry: Entry): void {
    for (let head = entry.waiters[0]; head && compatible(entry.holders, head.holder.mode); head = entry.waiters[0]) {
      entry.waiters.shift();
      entry.holders.add(head.holder);
      head.grant();
    }
    if (entry.holders.size === 0 && entry.waiters.length === 0) this.entries.delete(key);
    else this.askBlockers(entry);
  }

  private askBlockers(entry: Entry): void {
    const head = entry.waiters[0];
    if (!head || head.holder.polite) return;
    for (const holder of entry.holders) {
      if (head.holder.mode === 'exclusive' || holder.mode === 'exclusive') ask(holder);
    }
  }
}

function compatible(holders: ReadonlySet<Holder>, mode: LockMode): boolean {
  if (holders.size === 0) return true;
  if (mode === 'exclusive') return false;
  for (const holder of holders) if (holder.mode === 'exclusive') return false;
  return true;
}

function ask(holder: Holder): void {
  if (holder.asked) return;
  holder.asked = true;
  holder.onReleaseRequested?.();
}
