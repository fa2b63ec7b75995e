// CORS for browsers on other origins: every API answer allows any origin (tokens travel in the
// Authorization header, never in cookies, so a page learns nothing it could not ask for itself)
// and exposes the tus headers. Preflights are answered here, before authentication, except on the
// tus endpoint, whose own OPTIONS answer adds Tus-Version and Tus-Extension. The development token
// route gets no CORS headers at all: no other origin may read a token minted there.
import cors, { type CorsOptions } from 'cors';
import type { Request } from 'express';
import { DEV_TOKEN_PATH } from './dev-token.js';

export const TUS_HEADERS = [
  'Location',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Expires',
  'Upload-Concat',
  // the IETF resumable-uploads draft
  'Upload-Complete',
  'Upload-Incomplete',
  'Upload-Limit',
  'Upload-Draft-Interop-Version',
  'Repr-Digest',
  'Content-Digest',
  'Want-Repr-Digest',
];

export function corsMiddleware(exposedHeaders: readonly string[]) {
  const base: CorsOptions = {
    origin: '*',
    exposedHeaders: [
      ...TUS_HEADERS,
      ...exposedHeaders,
      'X-Request-Id',
      'X-Error-Type',
      'WWW-Authenticate',
      'Tus-Checksum-Algorithm',
      'Retry-After',
      // downloads
      'Content-Disposition',
      'Content-Range',
      'Accept-Ranges',
      'ETag',
    ],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'X-Request-Id',
      'X-Requested-With',
      'X-HTTP-Method-Override',
      ...TUS_HEADERS,
      'Upload-Checksum',
      'Last-Event-ID',
      'Range',
      'If-Range',
      'If-None-Match',
    ],
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    maxAge: 86_400,
  };
  const answered = { ...base, preflightContinue: false };
  const passedOn = { ...base, preflightContinue: true };
  const none: CorsOptions = { origin: false };
  return cors<Request>((req, callback) => {
    // as express routes: case-insensitive, a trailing slash allowed
    const path = req.path.toLowerCase().replace(/\/+$/, '');
    if (path === DEV_TOKEN_PATH) callback(null, none);
    // the REST API's routers authenticate every request, preflights included: answer those here
    else if (path === '/storage' || path.startsWith('/storage/')) callback(null, answered);
    // tus answers its own OPTIONS; elsewhere the catch-all answers, or, embedded, the host app
    else callback(null, passedOn);
  });
}
