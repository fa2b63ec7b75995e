// Who may create what: the asset types and their size limits, the per-owner rate limit on
// creations (a rolling hour) and the cap on unfinished sessions. Limits are data: asset types live
// in a Map, so no name a client sends ("constructor", "__proto__") can reach anything but a type
// the operator configured. Every creation (tus, concatenation parts and finals, REST, single-shot)
// passes here; the caps are checked in the same transaction as the insert.
import type { CreationLimits } from '../db/session-repository.js';
import { UploadError } from './errors.js';

export interface PolicyOptions {
  /** Largest upload per asset type; the keys are the asset types accepted. */
  assetTypeLimits: ReadonlyMap<string, number>;
  /** Largest upload of any type; 0 means no global limit. */
  maxUploadSize: number;
  /** Creations per owner per rolling hour; 0 turns the limit off. */
  uploadsPerHour: number;
  /** Unfinished sessions per owner; 0 turns the cap off. */
  maxActiveSessions: number;
}

const HOUR_MS = 3_600_000;

export class UploadPolicy {
  constructor(private readonly options: PolicyOptions) {}

  get assetTypes(): string[] {
    return [...this.options.assetTypeLimits.keys()];
  }

  /** Largest upload of this asset type (MAX_UPLOAD_SIZE applies on top); unknown types are refused. */
  limitFor(assetType: string): number {
    const limit = this.options.assetTypeLimits.get(assetType);
    if (limit === undefined) {
      throw new UploadError(
        'validation_error',
        `asset_type ${JSON.stringify(assetType.slice(0, 40))} is not one of ${this.assetTypes.join(', ')}`,
      );
    }
    return this.options.maxUploadSize > 0 ? Math.min(limit, this.options.maxUploadSize) : limit;
  }

  /** Largest upload of any type: what OPTIONS advertises as Tus-Max-Size. */
  get largestLimit(): number {
    return Math.max(...this.assetTypes.map((t) => this.limitFor(t)));
  }

  /** Refuses an unknown type, or a declared size over its type's limit. */
  assertSize(assetType: string, size: number | undefined): void {
    const limit = this.limitFor(assetType);
    if (size !== undefined && size > limit) {
      throw new UploadError(
        'payload_too_large',
        `${size} bytes is over the ${limit} byte limit for asset_type ${assetType}`,
      );
    }
  }

  /** The per-owner caps for a creation happening now. */
  creationLimits(): CreationLimits {
    return {
      maxActive: this.options.maxActiveSessions,
      perHour: this.options.uploadsPerHour,
      now: new Date(),
    };
  }

  activeCapReached(): UploadError {
    const cap = this.options.maxActiveSessions;
    return new UploadError(
      'rate_limited',
      `you have ${cap} unfinished uploads, the most allowed; finish or cancel some first`,
      { 'Retry-After': '60' },
    );
  }

  rateLimitReached(oldestCounted: Date): UploadError {
    const retryAfter = Math.max(1, Math.ceil((oldestCounted.getTime() + HOUR_MS - Date.now()) / 1000));
    return new UploadError(
      'rate_limited',
      `at most ${this.options.uploadsPerHour} uploads may be started per hour; try again in ${retryAfter} s`,
      { 'Retry-After': String(retryAfter) },
    );
  }
}
