// The tus endpoint, in one place: the URL names the collection or one upload (target.ts), the
// method picks the handler from a table, the caller is authenticated (OPTIONS needs no token),
// the tus headers are validated, and the upload the URL names is read for its owner. Handlers
// get the result of all that; nothing else under the tus path answers. A request that speaks the
// IETF resumable-uploads draft (Upload-Draft-Interop-Version) goes to the draft's handlers
// (draft/endpoint.ts), over the same URLs, sessions and rules.
import type { NextFunction, Request, Response } from 'express';
import { UploadError } from '../../store/errors.js';
import { JOINABLE_PART_STATUSES } from '../../store/finish/concatenate.js';
import { CHECKSUM_ALGORITHMS } from '../../store/write/checksum.js';
import { authenticate } from '../http/auth.js';
import type { TusCall, TusDeps, TusHandler } from './context.js';
import { terminateUpload } from './delete.js';
import { draftEndpoint } from './draft/endpoint.js';
import { draftVersionOf } from './draft/versions.js';
import { downloadUpload } from './get.js';
import { headUpload } from './head.js';
import { BODY_CONTENT_TYPES, VALIDATED_HEADERS, validateTusHeaders } from './headers.js';
import { tusOptions } from './options.js';
import { patchUpload } from './patch.js';
import { createUpload } from './post.js';
import { parseTusTarget } from './target.js';
import { TRAILER_FIELDS } from './trailer-checksum.js';

type HandlerTable = Readonly<Record<string, TusHandler>>;

const COLLECTION_METHODS: HandlerTable = { POST: createUpload };
const UPLOAD_METHODS: HandlerTable = {
  HEAD: headUpload,
  PATCH: patchUpload,
  DELETE: terminateUpload,
  GET: downloadUpload,
};

/** What this endpoint implements, of which Tus-Extension is derived. */
export const TUS_CAPABILITIES = {
  collectionMethods: Object.keys(COLLECTION_METHODS),
  uploadMethods: Object.keys(UPLOAD_METHODS),
  headers: VALIDATED_HEADERS,
  bodyTypes: BODY_CONTENT_TYPES,
  trailers: TRAILER_FIELDS,
  checksumAlgorithms: CHECKSUM_ALGORITHMS,
  joinsUnfinishedParts: JOINABLE_PART_STATUSES.includes('uploading'),
};

const options = tusOptions(TUS_CAPABILITIES);
const COLLECTION: HandlerTable = { OPTIONS: options, ...COLLECTION_METHODS };
const UPLOAD: HandlerTable = { OPTIONS: options, ...UPLOAD_METHODS };

// tus-js-client's overridePatchMethod: POST + X-HTTP-Method-Override, for proxies that drop PATCH
const OVERRIDABLE = new Set(['PATCH', 'DELETE', 'HEAD', 'GET', 'OPTIONS']);

export function tusEndpoint(deps: TusDeps) {
  const draft = draftEndpoint(deps, TUS_CAPABILITIES);
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const target = parseTusTarget(req.originalUrl, deps.tusPath);
      if (!target) {
        throw new UploadError('not_found', `no upload at this URL: tus uses ${deps.tusPath} and ${deps.tusPath}/{id}`);
      }
      applyMethodOverride(req);
      const version = draftVersionOf(req);
      if (version) {
        await draft(req, res, target, version);
        return;
      }
      const table = target.kind === 'collection' ? COLLECTION : UPLOAD;
      const handler = table[req.method];
      if (!handler) {
        throw new UploadError('method_not_allowed', `${req.method} is not allowed here`, {
          Allow: Object.keys(table).join(', '),
        });
      }
      const call: TusCall = { req, res, owner: '', upload: undefined };
      if (req.method !== 'OPTIONS') {
        call.owner = authenticate(deps.verifier, req).sub;
        if (req.method !== 'GET') validateTusHeaders(req);
        if (target.kind === 'upload') await readTarget(deps, call, target.id);
      }
      await handler(deps, call);
    } catch (error) {
      next(error);
    }
  };
}

/**
 * The upload a request names, read for its owner: a PATCH needs only what never changes about it
 * (its write reads the row under the lock), a HEAD the row as stored (from this instance's own
 * appender when it has one), the others the row.
 */
async function readTarget(deps: TusDeps, call: TusCall, id: string): Promise<void> {
  const { service } = deps;
  if (call.req.method === 'PATCH') call.identity = await service.identify(call.owner, id);
  else if (call.req.method === 'HEAD') call.upload = await service.current(call.owner, id);
  else call.upload = await service.get(call.owner, id);
}

function applyMethodOverride(req: Request): void {
  const override = req.headers['x-http-method-override'];
  if (req.method !== 'POST' || override === undefined) return;
  const method = String(override).trim().toUpperCase();
  if (!OVERRIDABLE.has(method)) {
    throw new UploadError(
      'validation_error',
      `X-HTTP-Method-Override ${JSON.stringify(String(override).slice(0, 20))} is not supported`,
    );
  }
  req.method = method;
}
