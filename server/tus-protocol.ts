// Express middleware in front of @tus/server for the protocol rules it gets wrong or dropped:
// X-HTTP-Method-Override, 412 for any unsupported Tus-Resumable, 415 for a PATCH with the wrong
// Content-Type, 400 for a missing or malformed Upload-Offset; the owner check on an upload; and the
// request context (checksum, concatenation part) handed to the store.
import type { NextFunction, Request, Response } from 'express';
import type { UploadSession } from '../db/schema.js';
import type { SessionRepository } from '../db/session-repository.js';
import { CHECKSUM_ALGORITHMS, parseUploadChecksum } from '../store/checksum.js';
import { UploadError } from '../store/errors.js';
import { isValidUploadId } from '../store/layout.js';
import type { UploadRequest } from '../store/request-context.js';
import { principalOf } from './auth.js';

const OVERRIDABLE = new Set(['PATCH', 'DELETE', 'HEAD', 'GET', 'OPTIONS']);
const OFFSET_CONTENT_TYPE = 'application/offset+octet-stream';
const NON_NEGATIVE_INTEGER = /^(0|[1-9]\d{0,15})$/;

declare module 'node:http' {
  interface IncomingMessage {
    /** The upload named in the URL, as read for the owner check. */
    uploadSession?: UploadSession | undefined;
  }
}

/** tus-js-client's overridePatchMethod: POST + X-HTTP-Method-Override, for proxies that drop PATCH. */
export function methodOverride(req: Request, _res: Response, next: NextFunction) {
  const override = req.headers['x-http-method-override'];
  if (req.method === 'POST' && typeof override === 'string') {
    const method = override.trim().toUpperCase();
    if (!OVERRIDABLE.has(method)) {
      next(
        new UploadError(
          'validation_error',
          `X-HTTP-Method-Override ${JSON.stringify(override.slice(0, 20))} is not supported`,
        ),
      );
      return;
    }
    req.method = method;
  }
  next();
}

export function tusProtocolChecks(req: Request, res: Response, next: NextFunction) {
  if (req.method === 'OPTIONS' || req.method === 'GET') {
    next();
    return;
  }
  const version = req.headers['tus-resumable'];
  if (version !== '1.0.0') {
    res.setHeader('Tus-Version', '1.0.0');
    const what =
      version === undefined
        ? 'Tus-Resumable header is required'
        : `Tus-Resumable ${JSON.stringify(String(version).slice(0, 20))} is not supported`;
    next(new UploadError('precondition_failed', `${what}; this server speaks tus 1.0.0`));
    return;
  }
  if (req.method === 'PATCH') {
    const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type !== OFFSET_CONTENT_TYPE) {
      next(new UploadError('unsupported_media_type', `PATCH requires Content-Type: ${OFFSET_CONTENT_TYPE}`));
      return;
    }
    const offset = req.headers['upload-offset'];
    if (offset === undefined) {
      next(new UploadError('validation_error', 'PATCH requires an Upload-Offset header'));
      return;
    }
    if (typeof offset !== 'string' || !NON_NEGATIVE_INTEGER.test(offset)) {
      next(new UploadError('validation_error', 'Upload-Offset must be a non-negative whole number'));
      return;
    }
  }
  for (const name of ['upload-length', 'upload-offset'] as const) {
    const value = req.headers[name];
    if (value !== undefined && (typeof value !== 'string' || !NON_NEGATIVE_INTEGER.test(value))) {
      next(
        new UploadError(
          'validation_error',
          `${name === 'upload-length' ? 'Upload-Length' : 'Upload-Offset'} must be a non-negative whole number`,
        ),
      );
      return;
    }
  }
  next();
}

/**
 * What the store needs to know about this request: the Upload-Checksum to verify, and whether a
 * POST creates a concatenation part.
 * Also answers OPTIONS with the checksum algorithms on offer.
 */
export function tusRequestContext(req: Request, res: Response): UploadRequest {
  if (req.method === 'OPTIONS') {
    res.setHeader('Tus-Checksum-Algorithm', CHECKSUM_ALGORITHMS.join(','));
    return {};
  }
  const header = req.headers['upload-checksum'];
  const checksum = typeof header === 'string' ? parseUploadChecksum(header) : undefined;
  const partial = req.method === 'POST' && req.headers['upload-concat'] === 'partial';
  // a HEAD takes no lock, so the row just read for the owner check is as fresh as another read
  const prefetched = req.method === 'HEAD' ? req.uploadSession : undefined;
  return { ownerId: req.principal?.sub, checksum, partial, prefetched, creating: req.method === 'POST' };
}

/** The upload id named by the last segment of the URL path, if any. */
export function uploadIdOf(req: Request): string | undefined {
  return req.path.split('/').filter(Boolean).pop();
}

/** 403 when the caller is not the owner of the upload named in the URL. Unknown ids pass on (404). */
export function requireUploadOwner(sessions: SessionRepository) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const id = uploadIdOf(req);
    if (!id || !isValidUploadId(id) || req.method === 'OPTIONS') {
      next();
      return;
    }
    try {
      const session = await sessions.find(id);
      if (session && session.ownerId !== principalOf(req).sub) {
        next(new UploadError('forbidden', `upload ${id} belongs to another user`));
        return;
      }
      req.uploadSession = session;
      next();
    } catch (error) {
      next(error);
    }
  };
}
