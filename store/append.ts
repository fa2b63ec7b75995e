// Appending a body to an upload at the offset its client claims (tus PATCH, a creation's body,
// single-shot uploads, a concatenation's join), for a caller that already holds the upload's lock
// exclusively: the protocol's checks against the row as stored, the write, a length declared with
// the body, and the finalise when these bytes complete the upload.
import type { Readable } from 'node:stream';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Asset, UploadSession } from '../db/schema.js';
import type { SessionRepository } from '../db/session-repository.js';
import { totalChunks } from './chunking.js';
import { UploadError } from './errors.js';
import type { Finalized } from './finish/finalize.js';
import { assertLive } from './lifecycle.js';
import type { UploadPolicy } from './upload-policy.js';
import type { BodyCheck } from './write/checksum.js';
import type { UploadWriter, WriteTarget } from './write/upload-writer.js';

export interface AppendInput {
  /** Where the caller believes the upload stands; checked under the lock. */
  offset: number;
  body: Readable | AsyncIterable<Buffer>;
  checksum?: BodyCheck | undefined;
  /** A deferred Upload-Length declared with this body; stored only once its bytes are. */
  declaredLength?: number | undefined;
  /** This body ends the upload: a length not known yet becomes the offset it ends at. */
  ends?: boolean;
  /** The creating request's own body: refused bytes take the new upload with them. */
  creating?: boolean;
  /** The client went away while the request waited for the lock. */
  signal?: AbortSignal | undefined;
  /** Aborted once another request has asked for the upload and the drain time is over. */
  release?: AbortController | undefined;
}

export interface AppendResult {
  session: UploadSession;
  /** Set when these bytes completed the upload and it became an asset. */
  asset: Asset | undefined;
}

export interface AppendDeps {
  get(ownerId: string, id: string): Promise<UploadSession>;
  sessions: SessionRepository;
  assets: AssetRepository;
  policy: UploadPolicy;
  writer: UploadWriter;
  finalize(ownerId: string, id: string, loaded: UploadSession): Promise<Finalized>;
  /** Cancels a session whose creating body was refused; never throws. */
  cancel(ownerId: string, id: string): Promise<void>;
}

export async function appendHeld(
  deps: AppendDeps,
  ownerId: string,
  id: string,
  input: AppendInput,
): Promise<AppendResult> {
  let session = assertLive(await deps.get(ownerId, id));
  if (session.status === 'completed') return repeatOfLastBody(deps, session, input.offset);
  assertReceiving(session);
  if (input.offset !== session.uploadOffset) throw offsetConflict(input.offset, session.uploadOffset);
  const declared = declaredLength(deps.policy, session, input.declaredLength);
  const target: WriteTarget = {
    session,
    length: declared ?? session.uploadLength ?? undefined,
    maxLength: deps.policy.limitFor(session.assetType),
    ends: input.ends === true,
  };
  let end: number;
  let row: UploadSession | undefined;
  try {
    ({ end, row } = await deps.writer.write(target, input.body, input.checksum));
  } catch (error) {
    // a creation whose bytes were refused gave the client no URL to resume: leave nothing behind
    if (input.creating) await deps.cancel(ownerId, id);
    throw error;
  }
  const length = declared ?? (input.ends && session.uploadLength === null ? end : undefined);
  if (length !== undefined) {
    await deps.sessions.declareLength(ownerId, id, length, totalChunks(length, session.chunkSize));
    session = await deps.get(ownerId, id);
  } else {
    // the last commit returned the row as stored; with nothing committed it did not change
    session = row ?? session;
  }
  const done = session.uploadLength !== null && session.uploadOffset === session.uploadLength;
  const finalized = done && session.concat !== 'partial' ? await deps.finalize(ownerId, id, session) : undefined;
  return { session: finalized?.session ?? session, asset: finalized?.asset };
}

/** A completed upload takes no bytes; a body at its end is a repeat of its last request. */
async function repeatOfLastBody(deps: AppendDeps, session: UploadSession, offset: number): Promise<AppendResult> {
  const length = session.uploadLength ?? session.uploadOffset;
  if (offset !== length) throw offsetConflict(offset, length);
  return { session, asset: await deps.assets.findBySession(session.id) };
}

function offsetConflict(claimed: number, actual: number): UploadError {
  return new UploadError('offset_conflict', `Upload-Offset ${claimed} does not match the upload's offset ${actual}`);
}

/** A deferred length this body declares, checked against the session. */
function declaredLength(
  policy: UploadPolicy,
  session: UploadSession,
  declared: number | undefined,
): number | undefined {
  if (declared === undefined) return undefined;
  if (session.uploadLength !== null) {
    throw new UploadError('validation_error', 'Upload-Length is already set for this upload');
  }
  if (declared < session.uploadOffset) {
    throw new UploadError('validation_error', `Upload-Length ${declared} is below the offset ${session.uploadOffset}`);
  }
  policy.assertSize(session.assetType, declared);
  return declared;
}

export function assertReceiving(session: UploadSession): void {
  if (session.status === 'paused') {
    throw new UploadError('invalid_state', `upload ${session.id} is paused; resume it before sending data`);
  }
}
