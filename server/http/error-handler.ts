// The one place errors become responses. REST routes answer `{ error, message }` as JSON; tus
// routes answer plain text, like the rest of the tus protocol; both name the error type in
// X-Error-Type (a HEAD answer has no body to carry it). Anything not in the error table is a bug
// or an outage: it is logged and answered with a generic 500.
import type { NextFunction, Request, Response } from 'express';
import { isDatabaseUnavailable } from '../../db/availability.js';
import { isUploadError, UploadError } from '../../store/errors.js';
import type { Logger } from '../ops/logger.js';
import { ProblemError } from '../tus/draft/problem.js';

export function toUploadError(error: unknown): UploadError | undefined {
  if (isUploadError(error)) return error;
  if (isDatabaseUnavailable(error)) {
    return new UploadError('unavailable', 'the database is unreachable; retry shortly, nothing received was lost', {
      'Retry-After': '5',
    });
  }
  if (isUnstorableText(error)) {
    return new UploadError('validation_error', 'the request holds text the database cannot store (a NUL byte)');
  }
  // body-parser and similar: errors that carry a 4xx status and are safe to expose
  const e = error as { status?: number; type?: string; message?: string; expose?: boolean };
  // the router cannot decode a path parameter (a stray or malformed %-escape)
  if (error instanceof URIError && e.status === 400) {
    return new UploadError('validation_error', 'the URL path has a malformed %-escape');
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    return e.status === 413
      ? new UploadError('payload_too_large', e.message ?? 'request body too large')
      : new UploadError('validation_error', e.message ?? 'bad request');
  }
  return undefined;
}

/**
 * PostgreSQL refuses U+0000 in text (SQLSTATE 22021, 22P05): a client put one in an id or a token
 * subject that reached a query. Bad input, not a fault.
 */
function isUnstorableText(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === '22021' || code === '22P05') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const DRAIN_LIMIT = 32 * 1024 * 1024;

/** Names the error type of every error answer, on both APIs. */
export const ERROR_TYPE_HEADER = 'X-Error-Type';

export function errorHandler(log: Logger, tusPath: string) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = toUploadError(error);
    const rendered = known ?? new UploadError('internal_error', 'internal error; the request id is in X-Request-Id');
    if (!known || rendered.status >= 500) {
      log.error({ err: error, req_id: req.requestId, method: req.method, path: req.path }, 'request error');
    }
    req.errorType = rendered.type;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.complete) {
      // The body was refused before it was read. A small one is drained so the client, still
      // sending, can read this answer on a healthy connection; a large or unsized one is cut.
      const declared = Number(req.headers['content-length']);
      if (!(declared <= DRAIN_LIMIT)) res.setHeader('Connection', 'close');
      req.resume();
    }
    res.status(rendered.status);
    res.setHeader(ERROR_TYPE_HEADER, rendered.type);
    for (const [name, value] of Object.entries(rendered.headers)) res.setHeader(name, value);
    const isTus = req.originalUrl === tusPath || req.originalUrl.startsWith(`${tusPath}/`);
    if (isTus) {
      res.setHeader('Tus-Resumable', '1.0.0');
      // the resumable-uploads draft's problem types (RFC 9457)
      if (rendered instanceof ProblemError && rendered.problem) {
        res.type('application/problem+json').send(req.method === 'HEAD' ? undefined : rendered.problemBody);
        return;
      }
      res.type('text/plain').send(req.method === 'HEAD' ? undefined : rendered.body);
      return;
    }
    res.json({ error: rendered.type, message: rendered.message });
  };
}
