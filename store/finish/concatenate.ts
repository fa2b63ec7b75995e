// tus concatenation: a final upload is its partial uploads joined in order. The parts' bytes are
// streamed (never held whole in memory) through the ordinary write path into the final upload's
// storage, so chunks, hashes and durability work as for any other upload; the copy resumes from
// the final's durable offset after a crash. A final may name parts that are still receiving bytes
// (concatenation-unfinished): it waits, and is joined when its last part finishes (upload-service.ts
// calls joinFinal after every append that finishes a part, recovery.ts after a restart).
import { Readable } from 'node:stream';
import type { UploadMetadata, UploadSession, UploadStatus } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { UploadError } from '../errors.js';
import type { HeldLock, UploadLocker } from '../lock/upload-locker.js';
import type { ChunkStorage } from '../storage/chunk-storage.js';
import type { AppendInput, AppendResult, NewUpload } from '../upload-service.js';

/** States a part may be in when a final names it: finished, or still receiving its bytes. */
export const JOINABLE_PART_STATUSES: readonly UploadStatus[] = ['initiated', 'uploading', 'paused'];

/** The parts' bytes in order, starting `from` bytes into their concatenation. */
export function partsStream(storage: ChunkStorage, parts: readonly UploadSession[], from: number): Readable {
  return Readable.from(
    (async function* () {
      let skip = from;
      for (const part of parts) {
        const length = part.uploadLength ?? 0;
        if (skip >= length) {
          skip -= length;
          continue;
        }
        yield* storage.read(part.id, skip, length);
        skip = 0;
      }
    })(),
    { objectMode: false },
  );
}

/** A part that has all its bytes. */
export function isFinishedPart(part: UploadSession): boolean {
  return part.uploadLength !== null && part.uploadOffset === part.uploadLength;
}

/** Why a session cannot be a part of a final upload, or undefined when it can. */
export function partProblem(part: UploadSession): string | undefined {
  if (part.concat !== 'partial') return `upload ${part.id} is not a partial upload (Upload-Concat: partial)`;
  if (!JOINABLE_PART_STATUSES.includes(part.status)) return `partial upload ${part.id} is ${part.status}`;
  return undefined;
}

export interface FinalUpload {
  /** Part upload ids, in order. */
  parts: string[];
  metadata: UploadMetadata;
}

/** What joining needs of the upload service. */
export interface JoinDeps {
  storage: ChunkStorage;
  sessions: SessionRepository;
  locker: UploadLocker;
  create(ownerId: string, input: NewUpload): Promise<UploadSession>;
  /** Runs `work` holding upload `id` alone. */
  exclusively<T>(id: string, work: () => Promise<T>): Promise<T>;
  /** Appends to an upload whose lock the caller holds. */
  appendHeld(ownerId: string, id: string, input: AppendInput): Promise<AppendResult>;
  findAssetOf(sessionId: string): Promise<AppendResult['asset']>;
  removeData(id: string): Promise<void>;
}

export const MAX_PARTS = 1000;

/**
 * Creates a final upload from the caller's partial uploads, finished or not, and joins them at
 * once when all are finished. Each part may be listed once, so one request cannot multiply the
 * work; the final's length is the sum of the parts' lengths, unknown while one of them defers it.
 */
export async function createFinalUpload(deps: JoinDeps, ownerId: string, input: FinalUpload): Promise<AppendResult> {
  const ids = input.parts;
  if (ids.length === 0) throw new UploadError('validation_error', 'a final upload needs at least one part');
  if (ids.length > MAX_PARTS) throw new UploadError('validation_error', `at most ${MAX_PARTS} parts may be joined`);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new UploadError('validation_error', `Upload-Concat lists part ${repeated} more than once`);
  const parts = await ownParts(deps.sessions, ownerId, ids);
  const lengths = parts.map((p) => p.uploadLength);
  const total = lengths.includes(null) ? undefined : lengths.reduce((n: number, l) => n + (l ?? 0), 0);
  const final = await deps.create(ownerId, { length: total, metadata: input.metadata, concat: 'final', parts: ids });
  return joinFinal(deps, ownerId, final.id);
}

/**
 * Joins a final upload whose parts have all finished into an asset; does nothing while one is
 * still receiving. The parts are held (shared) while their bytes are read, so none is cancelled or
 * rewritten half-way, and the final alone, so two parts finishing at once join it once.
 */
export async function joinFinal(deps: JoinDeps, ownerId: string, finalId: string): Promise<AppendResult> {
  const waiting = await deps.sessions.find(finalId);
  if (!waiting || waiting.ownerId !== ownerId || waiting.concat !== 'final') {
    throw new UploadError('not_found', `final upload ${finalId} not found`);
  }
  const ids = waiting.parts ?? [];
  // a part still receiving bytes is left alone: no lock is asked of its PATCH, which would cut it
  if (waiting.status !== 'completed' && !(await ownParts(deps.sessions, ownerId, ids)).every(isFinishedPart)) {
    return { session: waiting, asset: undefined };
  }
  const locks: HeldLock[] = [];
  try {
    // a fixed order, so two joins sharing parts never wait on each other in a circle; politely,
    // as a request that still holds a finished part is about to let go of it
    for (const id of [...ids].sort()) locks.push(await deps.locker.acquire(id, { mode: 'shared', polite: true }));
    const result = await deps.exclusively(finalId, async (): Promise<AppendResult> => {
      // read again under the locks: a part may have finished, or been cancelled, since
      const final = (await deps.sessions.find(finalId)) ?? waiting;
      if (final.status === 'completed') return { session: final, asset: await deps.findAssetOf(finalId) };
      if (!JOINABLE_PART_STATUSES.includes(final.status)) return { session: final, asset: undefined };
      const parts = await ownParts(deps.sessions, ownerId, ids);
      if (!parts.every(isFinishedPart)) return { session: final, asset: undefined };
      // object storage reads a part back only once it is completed into an object of its own
      for (const part of parts) await deps.storage.seal?.(part.id, part.uploadLength ?? 0);
      const body = partsStream(deps.storage, parts, final.uploadOffset);
      try {
        return await deps.appendHeld(ownerId, finalId, { offset: final.uploadOffset, body, ends: true });
      } finally {
        // the writer leaves its source open when it stops early; close the part files
        body.destroy();
      }
    });
    if (result.asset) {
      await deps.sessions.consumeParts(ownerId, ids, result.asset.id);
      for (const id of ids) await deps.removeData(id);
    }
    return result;
  } finally {
    for (const lock of locks) await lock.release();
  }
}

/**
 * After bytes reached a part: the finals waiting on it live as long as it does, and are joined
 * when this was their last part to finish. A join that cannot happen fails the final (the part's
 * own bytes are safe either way); one busy elsewhere is that other request's to finish.
 */
export async function joinWaitingFinals(
  deps: JoinDeps,
  part: UploadSession,
  expiresAt: Date,
  fail: (final: UploadSession, error: string) => Promise<void>,
): Promise<void> {
  const finals = await deps.sessions.touchFinalsWaitingFor(part.ownerId, part.id, expiresAt);
  if (!isFinishedPart(part)) return;
  for (const final of finals) {
    try {
      await joinFinal(deps, part.ownerId, final.id);
    } catch (error) {
      if (error instanceof UploadError && error.type === 'locked') continue;
      const message = error instanceof Error ? error.message : String(error);
      await fail(final, `joining its parts failed: ${message}`).catch(() => {});
    }
  }
}

async function ownParts(sessions: SessionRepository, ownerId: string, ids: string[]): Promise<UploadSession[]> {
  const found = new Map((await sessions.findMany(ids)).map((s) => [s.id, s]));
  return ids.map((id) => {
    const part = found.get(id);
    if (!part) throw new UploadError('not_found', `partial upload ${id} not found`);
    if (part.ownerId !== ownerId) throw new UploadError('forbidden', `partial upload ${id} belongs to another user`);
    const problem = partProblem(part);
    if (problem) throw new UploadError('invalid_state', problem);
    return part;
  });
}

/** Bytes the parts of an unfinished final upload hold so far: how far the final has come. */
export async function partsReceived(sessions: SessionRepository, final: UploadSession): Promise<number> {
  const parts = await sessions.findMany(final.parts ?? []);
  return parts.filter((p) => p.ownerId === final.ownerId).reduce((sum, p) => sum + p.uploadOffset, 0);
}
