// The IETF resumable-uploads draft at the tus URLs: a request with an Upload-Draft-Interop-Version
// this server speaks (versions.ts) is routed here instead of to the tus handlers, after the same
// URL rules, method table, authentication and owner check. Its errors are told the draft's way:
// an upload that is gone is a 404, a digest mismatch a 400, a 413 names the size limit in
// Upload-Limit.
import type { Request, Response } from 'express';
import { UploadError } from '../../../store/errors.js';
import { authenticate } from '../../http/auth.js';
import { toUploadError } from '../../http/error-handler.js';
import type { TusDeps } from '../context.js';
import type { TusCapabilities } from '../extensions.js';
import { downloadUpload } from '../get.js';
import type { TusTarget } from '../target.js';
import { appendDraftUpload } from './append.js';
import { type DraftCall, type DraftHandler, ProgressRelay } from './context.js';
import { createDraftUpload } from './create.js';
import { completeHeader, limitHeader } from './fields.js';
import { ProblemError } from './problem.js';
import { cancelDraftUpload, draftOptions, retrieveDraftOffset } from './resource.js';
import type { DraftVersion } from './versions.js';

type DraftTable = Readonly<Record<string, DraftHandler>>;

export type DraftEndpoint = (req: Request, res: Response, target: TusTarget, version: DraftVersion) => Promise<void>;

export function draftEndpoint(deps: TusDeps, capabilities: Omit<TusCapabilities, 'expires'>): DraftEndpoint {
  const options = draftOptions(capabilities);
  const progress = new ProgressRelay(deps.service.events);
  const collection: DraftTable = { OPTIONS: options, POST: createDraftUpload };
  const upload: DraftTable = {
    OPTIONS: options,
    HEAD: retrieveDraftOffset,
    PATCH: appendDraftUpload,
    DELETE: cancelDraftUpload,
    GET: downloadUpload,
  };
  return async (req, res, target, version) => {
    const table = target.kind === 'collection' ? collection : upload;
    const handler = table[req.method];
    if (!handler) {
      throw new UploadError('method_not_allowed', `${req.method} is not allowed here`, {
        Allow: Object.keys(table).join(', '),
      });
    }
    const call: DraftCall = { req, res, owner: '', upload: undefined, version, progress };
    try {
      if (req.method !== 'OPTIONS') {
        call.owner = authenticate(deps.verifier, req).sub;
        if (target.kind === 'upload') call.upload = await deps.service.get(call.owner, target.id);
      }
      await handler(deps, call);
    } catch (error) {
      throw draftError(deps, call, error);
    }
  };
}

function draftError(deps: TusDeps, call: DraftCall, error: unknown): unknown {
  const known = toUploadError(error);
  if (!known || known instanceof ProblemError) return error;
  const { version } = call;
  let headers: Record<string, string> = { ...known.headers };
  // the drafts answer 404 for an upload resource that is no longer active
  let type = known.type === 'gone' ? 'not_found' : known.type;
  // 460 is tus's own status; the draft's digests (RFC 9530) mismatch with a 400
  if (type === 'checksum_mismatch') type = 'validation_error';
  if (type === 'payload_too_large') {
    const maxSize = call.upload
      ? deps.service.policy.limitFor(call.upload.assetType)
      : deps.service.policy.largestLimit;
    Object.assign(headers, limitHeader(version, { maxSize }));
  }
  // an answer to a creation or append that did not complete the upload says so
  if ((call.req.method === 'POST' || call.req.method === 'PATCH') && type !== 'internal_error') {
    headers = { ...completeHeader(version, false), ...headers };
  }
  return new ProblemError(type, known.message, headers, undefined);
}
