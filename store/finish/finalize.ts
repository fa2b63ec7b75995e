// Turns a fully received upload into an asset without copying it: its bytes are verified (every
// chunk present, whole-file sha256), promoted into the asset's place by the storage, and the asset
// row and completed status are committed in one transaction. Every step can run again: the asset
// id is reserved in the session row before the move, so a crash half-way is finished by calling
// this again (see repair/recovery.ts). The caller holds the upload's lock.
import type { AssetRepository } from '../../db/asset-repository.js';
import type { Asset, UploadSession } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { missingChunks } from '../chunking.js';
import { UploadError } from '../errors.js';
import type { UploadEvents } from '../events.js';
import type { ChunkStorage } from '../storage/chunk-storage.js';
import { type HashStates, sha256 } from '../write/hash-state.js';

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

/** The asset made, and its session as stored now (completed). */
export interface Finalized {
  asset: Asset;
  session: UploadSession;
}

export async function finalizeUpload(deps: FinalizeDeps, request: FinalizeTarget): Promise<Finalized> {
  const { storage, sessions, hashes } = deps;
  const { ownerId, sessionId, loaded } = request;
  const started = performance.now();
  const session = loaded?.id === sessionId ? loaded : await sessions.find(sessionId);
  if (!session || session.ownerId !== ownerId) throw new UploadError('not_found', `upload ${sessionId} not found`);
  if (session.status === 'completed') {
    const existing = await deps.assets.findBySession(sessionId);
    if (existing) return { asset: existing, session };
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
  const assetId = await sessions.reserveAssetId(ownerId, sessionId, storage.assetIdFor(sessionId));
  const storagePath = storage.assetPath(session.ownerId, assetId, session.filename);
  const digest = await promoteVerified(deps, session, storagePath, length);

  const { asset, session: completed } = await sessions.complete(sessionId, {
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
  if (session.status !== 'completed') {
    deps.events.status(completed);
    deps.events.emit('finalized', { session: completed, asset, ms: performance.now() - started });
  }
  return { asset, session: completed };
}

/**
 * Promotes the upload's bytes into the asset, with their whole-file sha256 in stream order: the
 * running hash when this process saw every byte; else the bytes read back where they are on local
 * disk; else (object storage, whose parts cannot be read before completion) the asset read back
 * once completed, which a declared digest that turns out wrong then deletes.
 */
async function promoteVerified(
  deps: FinalizeDeps,
  session: UploadSession,
  storagePath: string,
  length: number,
): Promise<string> {
  const { storage, hashes } = deps;
  const id = session.id;
  // a repair may find the data already moved by the attempt that crashed
  const where = await storage.locate(id, storagePath);
  if (!where) throw new UploadError('storage_error', `data of upload ${id} is missing`);
  const local =
    where === 'upload' ? storage.readsWholeUploads && storage.sourceOf(id, 0).path : storage.assetFile(storagePath);
  const before =
    (await hashes.runningDigest(id, length)) ?? (local ? await hashes.hashFile(local, 0, length) : undefined);
  if (before !== undefined) {
    await assertDeclaredDigest(deps, session, before);
    await storage.promote(id, storagePath, length);
    return before;
  }
  await storage.promote(id, storagePath, length);
  const digest = sha256();
  for await (const block of storage.readAsset(storagePath, 0, length)) digest.update(block);
  const after = digest.digest('hex');
  try {
    await assertDeclaredDigest(deps, session, after);
  } catch (error) {
    await storage.removeAsset(storagePath);
    throw error;
  }
  return after;
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
