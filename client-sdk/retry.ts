// When a failed tus request is tried again. Network errors (no response), 5xx, 423 (the upload is
// busy with another request), 409 (the offset moved on, e.g. a stopped request's bytes were kept
// after the offset was read: the retry asks for the offset again) and 460 (the body was damaged in
// transit; nothing of it was kept) are retried with growing delays. Other 4xx are final, except
// one 401 answered with a fresh token when getToken() was given.
import type { DetailedError } from 'tus-js-client';
import type { UploadClientError } from './errors.js';

/** Delays before each retry, in ms: roughly doubling, about a minute in all. */
export const DEFAULT_RETRY_DELAYS: readonly number[] = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000];

/** Told before each retry, so a caller can say why it waits (e.g. "cannot connect to ..."). */
export interface RetryNotice {
  /** 1 for the first retry. */
  attempt: number;
  /** Retries allowed in all (the length of retryDelays). */
  attempts: number;
  /** The wait before this retry. */
  delayMs: number;
  /** What failed: kind 'network' when no answer came, else the server's answer. */
  error: UploadClientError;
}

export type RetryListener = (notice: RetryNotice) => void;

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 423 || status === 409 || status === 460;
}

export interface RetryPolicyOptions {
  /** True when a 401 can be answered with another token (getToken was given). */
  canRefreshToken: () => boolean;
}

/**
 * tus-js-client's onShouldRetry. `attempt` counts the retries since the upload last made progress,
 * so a token that expires hours into an upload is still refreshed, but a refused one is not asked
 * for again and again.
 */
export function retryPolicy(options: RetryPolicyOptions) {
  return (error: DetailedError, attempt = 0): boolean => {
    const status = error.originalResponse?.getStatus();
    // no response: the connection failed (tus-js-client only asks about errors of a request)
    if (status === undefined) return true;
    if (status === 401) return options.canRefreshToken() && attempt < 2;
    return isRetryableStatus(status);
  };
}
