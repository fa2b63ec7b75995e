// The tus endpoint, in one place: the URL names the collection or one upload (target.ts), the
// method picks the handler from a table, the caller is authenticated (OPTIONS needs no token),
// the tus headers are validated, and the upload the URL names is read for its owner. Handlers
// get the result of all that; nothing else under the tus path answers.
import type { NextFunction, Request, Response } from 'express';
import { UploadError } from '../../store/errors.js';
import { authenticate } from '../http/auth.js';
import type { TusCall, TusDeps, TusHandler } from './context.js';
import { terminateUpload } from './delete.js';
import { downloadUpload } from './get.js';
import { headUpload } from './head.js';
import { validateTusHeaders } from './headers.js';
import { tusOptions } from './options.js';
import { patchUpload } from './patch.js';
import { createUpload } from './post.js';
import { parseTusTarget } from './target.js';

type HandlerTable = Readonly<Record<string, TusHandler>>;

const COLLECTION: HandlerTable = { OPTIONS: tusOptions, POST: createUpload };
const UPLOAD: HandlerTable = {
  OPTIONS: tusOptions,
  HEAD: headUpload,
  PATCH: patchUpload,
  DELETE: terminateUpload,
  GET: downloadUpload,
};

// tus-js-client's overridePatchMethod: POST + X-HTTP-Method-Override, for proxies that drop PATCH
const OVERRIDABLE = new Set(['PATCH', 'DELETE', 'HEAD', 'GET', 'OPTIONS']);

export function tusEndpoint(deps: TusDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const target = parseTusTarget(req.originalUrl, deps.tusPath);
      if (!target) {
        throw new UploadError('not_found', `no upload at this URL: tus uses ${deps.tusPath} and ${deps.tusPath}/{id}`);
      }
      applyMethodOverride(req);
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
        if (target.kind === 'upload') call.upload = await deps.service.get(call.owner, target.id);
      }
      await handler(deps, call);
    } catch (error) {
      next(error);
    }
  };
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
