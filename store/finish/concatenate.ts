// tus concatenation: a final upload is its partial uploads joined in order. The parts' bytes are
// streamed (never held whole in memory) through the ordinary write path into the final upload's
// storage, so chunks, hashes and durability work as for any other upload. Finals are created here
// from the caller's own, finished, distinct parts.
import { Readable } from 'node:stream';
import type { UploadMetadata, UploadSession } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { UploadError } from '../errors.js';
import type { HeldLock, UploadLocker } from '../lock/upload-locker.js';
import type { ChunkStorage } from '../storage/chunk-storage.js';
import type { AppendInput, AppendResult, NewUpload } from '../upload-service.js';

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

/** Why a session cannot be a part of a final upload, or undefined when it can. */
export function partProblem(part: UploadSession): string | undefined {
  if (part.concat !== 'partial') return `upload ${part.id} is not a partial upload (Upload-Concat: partial)`;
  if (part.status !== 'initiated' && part.status !== 'uploading') return `partial upload ${part.id} is ${part.status}`;
  if (part.uploadLength === null || part.uploadOffset !== part.uploadLength) {
    return `partial upload ${part.id} is not finished (${part.uploadOffset} of ${part.uploadLength ?? '?'} bytes)`;
  }
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
  append(ownerId: string, id: string, input: AppendInput): Promise<AppendResult>;
  removeData(id: string): Promise<void>;
}

export const MAX_PARTS = 1000;

/**
 * Creates a final upload from the caller's finished partial uploads and joins them into an asset.
 * The parts are held (shared) while their bytes are read, so none is cancelled or rewritten
 * half-way; each part may be listed once, so one request cannot multiply the work.
 */
export async function createFinalUpload(deps: JoinDeps, ownerId: string, input: FinalUpload): Promise<AppendResult> {
  const ids = input.parts;
  if (ids.length === 0) throw new UploadError('validation_error', 'a final upload needs at least one part');
  if (ids.length > MAX_PARTS) throw new UploadError('validation_error', `at most ${MAX_PARTS} parts may be joined`);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new UploadError('validation_error', `Upload-Concat lists part ${repeated} more than once`);
  const total = (await ownFinishedParts(deps.sessions, ownerId, ids)).reduce((n, p) => n + (p.uploadLength ?? 0), 0);
  const final = await deps.create(ownerId, { length: total, metadata: input.metadata, concat: 'final', parts: ids });
  const locks: HeldLock[] = [];
  try {
    // a fixed order, so two joins sharing parts never wait on each other in a circle
    for (const id of [...ids].sort()) locks.push(await deps.locker.acquire(id, { mode: 'shared' }));
    // read again under the locks: a part may have been cancelled since
    const parts = await ownFinishedParts(deps.sessions, ownerId, ids);
    const body = partsStream(deps.storage, parts, 0);
    let result: AppendResult;
    try {
      result = await deps.append(ownerId, final.id, { offset: 0, body });
    } finally {
      // the writer leaves its source open when it stops early; close the part files
      body.destroy();
    }
    if (result.asset) {
      await deps.sessions.consumeParts(ownerId, ids, result.asset.id);
      for (const id of ids) await deps.removeData(id);
    }
    return result;
  } finally {
    for (const lock of locks) await lock.release();
  }
}

async function ownFinishedParts(sessions: SessionRepository, ownerId: string, ids: string[]): Promise<UploadSession[]> {
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
