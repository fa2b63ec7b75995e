// The shapes the session queries take and give, and the filters they share (session-*.ts).
import { and, eq } from 'drizzle-orm';
import { type ChunkDigests, type UploadSession, type UploadStatus, uploadSessions } from './schema.js';

export type TransitionResult = { ok: true; session: UploadSession } | { ok: false; current: UploadSession | undefined };

/** A row looked up for a caller: theirs, someone else's, or none. */
export type Owned<T> = { kind: 'found'; row: T } | { kind: 'foreign' } | { kind: 'missing' };

export function ownedBy<T extends { ownerId: string }>(ownerId: string, row: T | undefined): Owned<T> {
  if (!row) return { kind: 'missing' };
  return row.ownerId === ownerId ? { kind: 'found', row } : { kind: 'foreign' };
}

/** Per-owner caps checked in the same transaction as the insert; 0 turns one off. */
export interface CreationLimits {
  maxActive: number;
  perHour: number;
  now: Date;
}

export type CreationResult =
  | { ok: true; session: UploadSession }
  | { ok: false; limit: 'active' }
  | { ok: false; limit: 'rate'; oldestCounted: Date };

export interface ProgressUpdate {
  offset: number;
  /** Chunks completed by this write, merged into the recorded ones. */
  chunks?: ChunkDigests;
  expiresAt: Date;
}

/** Durable progress of one upload of one owner, as recorded in a batch. */
export interface ProgressEntry extends ProgressUpdate {
  ownerId: string;
  id: string;
}

export interface ListOptions {
  status?: UploadStatus;
  limit: number;
  offset: number;
}

/** Statuses in which a session may still receive bytes. */
export const RECEIVING: UploadStatus[] = ['initiated', 'uploading'];

/** The session `id` if `ownerId` owns it. */
export const mine = (ownerId: string, id: string) =>
  and(eq(uploadSessions.id, id), eq(uploadSessions.ownerId, ownerId));
