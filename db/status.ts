// The session lifecycle of the seed, as one table: which status may follow which.
import type { UploadStatus } from './schema.js';

/**
 * initiated -> uploading -> completed, with pause/resume in between, cancel from anywhere not
 * terminal (and a completed upload terminated through tus), failed from an error, expired by the
 * cleanup sweep. `initiated -> completed` covers a zero-byte upload; `uploading -> uploading` is
 * the seed's "still receiving".
 */
export const STATUS_TRANSITIONS: Readonly<Record<UploadStatus, readonly UploadStatus[]>> = {
  initiated: ['uploading', 'paused', 'completed', 'failed', 'cancelled', 'expired'],
  uploading: ['uploading', 'paused', 'completed', 'failed', 'cancelled', 'expired'],
  paused: ['uploading', 'cancelled', 'expired'],
  failed: ['cancelled'],
  // tus termination of a completed upload retires its URL; the asset stays (upload-service.ts)
  completed: ['cancelled'],
  cancelled: [],
  expired: [],
};

export const ACTIVE_STATUSES: readonly UploadStatus[] = ['initiated', 'uploading', 'paused'];

export function canTransition(from: UploadStatus, to: UploadStatus): boolean {
  return STATUS_TRANSITIONS[from].includes(to);
}

/** The statuses from which `to` may be reached. */
export function statusesLeadingTo(to: UploadStatus): UploadStatus[] {
  return (Object.keys(STATUS_TRANSITIONS) as UploadStatus[]).filter((from) => canTransition(from, to));
}
