// Moving a session along its lifecycle (pause, resume, cancel, terminate, fail), for a caller that
// holds the upload's lock: the rules on which moves are allowed, the status event, and deleting the
// bytes of a session that ends without an asset.
import type { UploadSession, UploadStatus } from '../db/schema.js';
import type { SessionRepository } from '../db/session-repository.js';
import { UploadError } from './errors.js';
import type { UploadEvents } from './events.js';

export interface StatusDeps {
  sessions: SessionRepository;
  events: UploadEvents;
  removeData(id: string): Promise<void>;
}

/** Pause, resume and cancel (REST); resuming something not paused is a mistake. */
export async function transitionHeld(
  deps: StatusDeps,
  session: UploadSession,
  to: UploadStatus,
): Promise<UploadSession> {
  const { id } = session;
  if (session.status === 'completed') {
    throw new UploadError('invalid_state', `upload session ${id} is completed and cannot become ${to}`);
  }
  if (to === 'uploading' && session.status !== 'paused') {
    throw new UploadError('invalid_state', `cannot resume upload session ${id}: it is ${session.status}`);
  }
  const changed = await changeStatus(deps, session, to);
  if (to === 'cancelled') await deps.removeData(id);
  return changed;
}

/**
 * Cancels an unfinished upload and deletes its bytes. A completed upload's URL is retired the same
 * way, but its bytes are its asset now, which has a life of its own (/storage/assets): the asset
 * stays, and the session says so.
 */
export async function terminateHeld(deps: StatusDeps, session: UploadSession): Promise<UploadSession> {
  if (session.status === 'completed') {
    const kept = session.assetId ? `; its asset ${session.assetId} is kept` : '';
    return changeStatus(deps, session, 'cancelled', `terminated after it completed${kept}`);
  }
  const cancelled = await changeStatus(deps, session, 'cancelled');
  await deps.removeData(session.id);
  return cancelled;
}

export async function changeStatus(
  deps: StatusDeps,
  session: Pick<UploadSession, 'ownerId' | 'id'>,
  to: UploadStatus,
  error?: string,
): Promise<UploadSession> {
  const { ownerId, id } = session;
  const result = await deps.sessions.transition(ownerId, id, to, error === undefined ? {} : { error });
  if (!result.ok) {
    const current = result.current?.status ?? 'gone';
    throw new UploadError('invalid_state', `upload ${id} is ${current} and cannot become ${to}`);
  }
  deps.events.status(result.session);
  return result.session;
}

/** A creation whose bytes were refused: the request's own error is what the client must see. */
export async function cancelQuietly(deps: StatusDeps, ownerId: string, id: string): Promise<void> {
  try {
    await changeStatus(deps, { ownerId, id }, 'cancelled');
    await deps.removeData(id);
  } catch {
    // a session left behind expires with the TTL; nothing the client could do about it now
  }
}
