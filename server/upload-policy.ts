// Who may create what: known asset types and their size limits, the per-owner rate limit on
// creations (a rolling hour, counted from upload_sessions so it holds across instances) and the cap
// on unfinished sessions. Used by both the tus creation hook and the REST routes.
import type { SessionRepository } from '../db/session-repository.js';
import { UploadError } from '../store/errors.js';
import type { Config } from './config.js';

const HOUR_MS = 3_600_000;

export class UploadPolicy {
  constructor(
    private readonly config: Pick<
      Config,
      'assetTypeLimits' | 'maxUploadSize' | 'uploadsPerHour' | 'maxActiveSessions' | 'singleUploadMax'
    >,
    private readonly sessions: SessionRepository,
  ) {}

  get assetTypes(): string[] {
    return Object.keys(this.config.assetTypeLimits);
  }

  /** Largest upload of this asset type (the global MAX_UPLOAD_SIZE applies on top). */
  limitFor(assetType: string): number {
    const limit = this.config.assetTypeLimits[assetType];
    if (limit === undefined) {
      throw new UploadError(
        'validation_error',
        `asset_type ${JSON.stringify(assetType.slice(0, 40))} is not one of ${this.assetTypes.join(', ')}`,
      );
    }
    return this.config.maxUploadSize > 0 ? Math.min(limit, this.config.maxUploadSize) : limit;
  }

  /** Largest upload of any type: what OPTIONS advertises as Tus-Max-Size. */
  get largestLimit(): number {
    return Math.max(...this.assetTypes.map((t) => this.limitFor(t)));
  }

  assertSize(assetType: string, size: number): void {
    const limit = this.limitFor(assetType);
    if (size > limit) {
      throw new UploadError(
        'payload_too_large',
        `${size} bytes is over the ${limit} byte limit for asset_type ${assetType}`,
      );
    }
  }

  /** Checks a new upload against type, size, the unfinished-session cap and the rate limit. */
  async assertMayCreate(ownerId: string, assetType: string, size: number | undefined): Promise<void> {
    if (size === undefined) this.limitFor(assetType);
    else this.assertSize(assetType, size);

    const { maxActiveSessions, uploadsPerHour } = this.config;
    const now = Date.now();
    // both counts at once: under load each query waits its turn for a pooled connection
    const [active, recent] = await Promise.all([
      maxActiveSessions > 0 ? this.sessions.countActive(ownerId) : 0,
      uploadsPerHour > 0 ? this.sessions.creationsSince(ownerId, new Date(now - HOUR_MS), uploadsPerHour) : [],
    ]);
    if (maxActiveSessions > 0 && active >= maxActiveSessions) {
      throw new UploadError(
        'rate_limited',
        `you have ${maxActiveSessions} unfinished uploads, the most allowed; finish or cancel some first`,
        { 'Retry-After': '60' },
      );
    }
    const oldestCounted = uploadsPerHour > 0 ? recent[uploadsPerHour - 1] : undefined;
    if (oldestCounted) {
      const retryAfter = Math.max(1, Math.ceil((oldestCounted.getTime() + HOUR_MS - now) / 1000));
      throw new UploadError(
        'rate_limited',
        `at most ${uploadsPerHour} uploads may be started per hour; try again in ${retryAfter} s`,
        { 'Retry-After': String(retryAfter) },
      );
    }
  }
}
