// What every tus handler receives: its dependencies, and one request already routed,
// authenticated and checked (the owner, and the upload the URL names as read for the owner check).
import type { Request, Response } from 'express';
import type { UploadSession } from '../../db/schema.js';
import type { SessionIdentity } from '../../db/session-identities.js';
import type { UploadService } from '../../store/upload-service.js';
import type { TokenVerifier } from '../http/auth.js';
import type { PublicUrls } from '../http/public-url.js';
import type { WriteSlots } from '../http/write-slots.js';
import type { Logger } from '../ops/logger.js';

export interface TusDeps {
  service: UploadService;
  tusPath: string;
  /** Absolute (or, when configured, relative) URLs handed to clients. */
  urls: PublicUrls;
  verifier: TokenVerifier;
  writeSlots: WriteSlots;
  log: Logger;
}

export interface TusCall {
  req: Request;
  res: Response;
  /** The authenticated caller (JWT sub); empty for OPTIONS, which needs no token. */
  owner: string;
  /** The caller's upload named in the URL, read before any lock: a fast path, not the truth. */
  upload: UploadSession | undefined;
  /**
   * For a PATCH, instead of `upload`: what never changes about the caller's upload, usually without
   * a database read (the write reads the session under the lock anyway).
   */
  identity?: SessionIdentity | undefined;
}

export type TusHandler = (deps: TusDeps, call: TusCall) => Promise<void>;

/** The upload of a call routed to {TUS_PATH}/{id}. */
export function uploadOf(call: TusCall): UploadSession {
  if (!call.upload) throw new Error('tus handler for one upload called without one');
  return call.upload;
}

/** The upload a PATCH names, as checked for its owner before the lock. */
export function identityOf(call: TusCall): SessionIdentity {
  if (!call.identity) throw new Error('tus PATCH handler called without the upload it names');
  return call.identity;
}

export const ASSET_ID_HEADER = 'Upload-Asset-Id';

/** The URL of upload `id` as handed to the client of `req` (Location, Upload-Concat). */
export function uploadUrl(deps: TusDeps, req: Request, id: string): string {
  return deps.urls.of(req, `${deps.tusPath}/${id}`);
}
