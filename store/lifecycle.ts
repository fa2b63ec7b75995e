// Reading a caller's session or asset, and the rules on a session's status that every operation
// on it shares. The owner check lives here, where the rows are read, not only in front of the
// routes: whatever path a request took, it sees only its own uploads.
import type { AssetRepository } from '../db/asset-repository.js';
import type { Asset, UploadSession } from '../db/schema.js';
import type { SessionIdentity } from '../db/session-identities.js';
import type { Owned, SessionRepository } from '../db/session-repository.js';
import { ACTIVE_STATUSES } from '../db/status.js';
import { UploadError } from './errors.js';
import { isValidUploadId } from './storage/layout.js';

const ASSET_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The caller's session; `toAnswer` for a read that answers without the upload's lock (HEAD). */
export async function ownSession(
  sessions: SessionRepository,
  ownerId: string,
  id: string,
  options: { toAnswer?: boolean } = {},
): Promise<UploadSession> {
  const found = isValidUploadId(id) ? await sessions.lookup(ownerId, id, options) : ({ kind: 'missing' } as const);
  return ownedOrThrow(found, `upload ${id}`);
}

/** What never changes about the caller's session (checks made before its lock); as ownSession. */
export async function ownIdentity(sessions: SessionRepository, ownerId: string, id: string): Promise<SessionIdentity> {
  const found = isValidUploadId(id) ? await sessions.identify(ownerId, id) : ({ kind: 'missing' } as const);
  return ownedOrThrow(found, `upload ${id}`);
}

export async function ownAsset(assets: AssetRepository, ownerId: string, id: string): Promise<Asset> {
  const found = ASSET_ID.test(id) ? await assets.lookup(ownerId, id) : ({ kind: 'missing' } as const);
  return ownedOrThrow(found, `asset ${id}`);
}

function ownedOrThrow<T>(found: Owned<T>, what: string): T {
  if (found.kind === 'found') return found.row;
  if (found.kind === 'foreign') throw new UploadError('forbidden', `${what} belongs to another user`);
  throw new UploadError('not_found', `${what} not found`);
}

/** `gone` for a session that ended without an asset, or whose TTL has passed. */
export function assertLive(session: UploadSession): UploadSession {
  const { id } = session;
  if (session.status === 'cancelled' || session.status === 'expired' || session.status === 'failed') {
    const why = session.error ? `: ${session.error}` : '';
    throw new UploadError('gone', `upload ${id} is ${session.status}${why}`);
  }
  // past its TTL it is gone already, even before the sweep marks it expired
  if (ACTIVE_STATUSES.includes(session.status) && session.expiresAt.getTime() <= Date.now()) {
    throw new UploadError('gone', `upload ${id} expired: it received nothing for longer than the session TTL`);
  }
  return session;
}
