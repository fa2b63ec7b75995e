// Turns a fully received upload into an asset without copying it: its bytes are verified (every
// chunk present, whole-file sha256), promoted into the asset's place by the storage, and the asset
// row and completed status are committed in one transaction. Every step can run again: the asset
// id is reserved in the session row before the move, so a crash half-way is finished by calling
// this again (see repair/recovery.ts). The caller holds the upload's lock.
import { randomUUID } from 'node:crypto';
import type { AssetRepository } from '../../db/asset-repository.js';
import type { Asset, UploadSession } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { missingChunks } from '../chunking.js';
import { UploadError } from '../errors.js';
import type { UploadEvents } from '../events.js';
import type { ChunkStorage } from '../storage/chunk-storage.js';
import type { HashStates } from '../write/hash-state.js';

export interface FinalizeDeps {
  storage: ChunkStorage;
  sessions: SessionRepository;
  assets: AssetRepository;
  hashes: HashStates;
  events: UploadEvents;
}

export interface FinalizeTarget {
  ownerId: string;
  sessionId: string;
  /** The session row as just read by the caller, saving a read. */
  loaded?: UploadSession | undefined;
}

export async function finalizeUpload(deps: FinalizeDeps, request: FinalizeTarget): Promise<Asset> {
  const { storage, sessions, hashes } = deps;
  const { ownerId, sessionId, loaded } = request;
  const started = performance.now();
  const session = loaded?.id === sessionId ? loaded : await sessions.find(sessionId);
  if (!session || session.ownerId !== ownerId) throw new UploadError('not_found', `upload ${sessionId} not found`);
  if (session.status === 'completed') {
    const existing = await deps.assets.findBySession(sessionId);
    if (existing) return existing;
    if (session.concat !== 'partial') {
      throw new UploadError('invalid_state', `upload ${sessionId} is completed; its asset has since been deleted`);
    }
  }
  if (session.status !== 'initiated' && session.status !== 'uploading' && session.status !== 'completed') {
    throw new UploadError('invalid_state', `upload ${sessionId} is ${session.status} and cannot be completed`);
  }
  if (session.concat === 'partial') {
    throw new UploadError(
      'invalid_state',
      `upload ${sessionId} is a part of a concatenated upload; it becomes an asset through its final upload`,
    );
  }
  const length = session.uploadLength;
  if (length === null) {
    throw new UploadError('invalid_state', `upload ${sessionId} has not declared its length yet`);
  }
  const missing = missingChunks(session.totalChunks ?? 0, session.chunks);
  if (missing.length > 0) {
    throw new UploadError('invalid_state', `upload ${sessionId} is missing chunks ${missing.join(', ')}`);
  }

  if (session.uploadOffset !== length) {
    throw new UploadError(
      'invalid_state',
      `upload ${sessionId} has ${session.uploadOffset} of ${length} bytes; send the rest first`,
    );
  }
  const assetId = await sessions.reserveAssetId(ownerId, sessionId, randomUUID());
  const storagePath = storage.assetPath(session.ownerId, assetId, session.filename);
  // a repair may find the data already moved by the attempt that crashed
  const source = await storage.locate(sessionId, storagePath);
  if (!source) throw new UploadError('storage_error', `data of upload ${sessionId} is missing`);
  const digest = await hashes.fileDigest(sessionId, source.path, length);
  await assertDeclaredDigest(deps, session, digest);
  await storage.promote(sessionId, storagePath);

  const asset = await sessions.complete(sessionId, {
    id: assetId,
    ownerId: session.ownerId,
    sessionId,
    filename: session.filename,
    contentType: session.contentType,
    assetType: session.assetType,
    size: length,
    sha256: digest,
    storagePath,
  });
  hashes.forget(sessionId);
  const completed = await sessions.find(sessionId);
  if (completed && session.status !== 'completed') {
    deps.events.status(completed);
    deps.events.emit('finalized', { session: completed, asset, ms: performance.now() - started });
  }
  return asset;
}

/** A client may declare the whole file's sha256 in metadata; a mismatch fails the session. */
async function assertDeclaredDigest(deps: FinalizeDeps, session: UploadSession, digest: string): Promise<void> {
  const declared = session.metadata.sha256?.trim().toLowerCase();
  if (!declared || declared === digest) return;
  const message = `the uploaded bytes have sha256 ${digest}, not the ${declared} declared in metadata; no asset was made`;
  const failed = await deps.sessions.transition(session.ownerId, session.id, 'failed', { error: message });
  if (failed.ok) deps.events.status(failed.session);
  deps.hashes.forget(session.id);
  throw new UploadError('checksum_mismatch', message);
}
