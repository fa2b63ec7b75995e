// Expiring stale sessions: an unfinished upload that received nothing for longer than the session
// TTL is marked expired and its bytes deleted, but only when nobody is using it right now.
import type { UploadSession } from '../db/schema.js';
import type { SessionRepository } from '../db/session-repository.js';
import { UploadError } from './errors.js';
import { type LockRequest, type UploadLocker, withLock } from './lock/upload-locker.js';

export interface ExpiryDeps {
  sessions: SessionRepository;
  locker: UploadLocker;
  expired(session: UploadSession): void;
  removeData(id: string): Promise<void>;
}

const BATCH = 500;

/** Expires every stale session it can lock now; returns how many it expired. */
export async function expireStale(deps: ExpiryDeps): Promise<number> {
  let removed = 0;
  for (;;) {
    const stale = await deps.sessions.findStale(new Date(), BATCH);
    let changed = 0;
    for (const session of stale) if (await expire(deps, session)) changed++;
    removed += changed;
    if (stale.length < BATCH || changed === 0) return removed;
  }
}

async function expire(deps: ExpiryDeps, session: UploadSession): Promise<boolean> {
  // only if nobody is using it right now, and without asking anyone to stop
  const lock: LockRequest = { mode: 'exclusive', polite: true, timeoutMs: 0 };
  try {
    return await withLock(deps.locker, session.id, lock, async () => {
      const result = await deps.sessions.transition(session.ownerId, session.id, 'expired');
      if (!result.ok) return false;
      deps.expired(result.session);
      await deps.removeData(session.id);
      return true;
    });
  } catch (error) {
    // busy right now: a request is using it, so it is not stale; the next sweep looks again
    if (error instanceof UploadError && error.type === 'locked') return false;
    throw error;
  }
}
