// The upload lock: every writer of an upload (tus PATCH, REST chunk, complete, concatenation,
// pause, cancel, termination) holds it, so recorded chunk digests always describe the bytes on
// disk. Two modes: REST chunks of one upload write disjoint regions and may run side by side
// (shared, plus an exclusive lock on their chunk number); everything else that writes or changes
// the session is alone on it (exclusive). A waiter asks conflicting holders to let go (tus's
// lock-release request): a tus PATCH then stops at a durable offset, other holders just finish.
import { UploadError } from '../errors.js';

export type LockMode = 'exclusive' | 'shared';

export interface LockRequest {
  mode: LockMode;
  /** Ends the wait early (the client went away). */
  signal?: AbortSignal | undefined;
  /** Called, at most once, when another request waits for this lock. */
  onReleaseRequested?: (() => void) | undefined;
  /** Wait without asking the holders to let go (the server's own housekeeping). */
  polite?: boolean;
  /** How long to wait; the locker's own time-out when not given, 0 to only try. */
  timeoutMs?: number;
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface UploadLocker {
  acquire(key: string, request: LockRequest): Promise<HeldLock>;
  close(): Promise<void>;
}

/** The lock key of one chunk of an upload, held exclusively inside the upload's shared lock. */
export function chunkLockKey(uploadId: string, chunkNumber: number): string {
  return `${uploadId}#${chunkNumber}`;
}

export function lockTimeout(): UploadError {
  return new UploadError('locked', 'the upload is busy with another request; retry shortly', { 'Retry-After': '1' });
}

export function lockAbandoned(): UploadError {
  return new UploadError('locked', 'the request ended while it waited for the upload');
}

/** Runs `work` holding `key` in `request.mode`; releases it however `work` ends. */
export async function withLock<T>(
  locker: UploadLocker,
  key: string,
  request: LockRequest,
  work: () => Promise<T>,
): Promise<T> {
  const lock = await locker.acquire(key, request);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
