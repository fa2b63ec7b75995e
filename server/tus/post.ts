// POST (creation): a new upload with its length or a deferred one, metadata, and optionally its
// first bytes (creation-with-upload); a final concatenation upload goes to concat.ts.
import { Metadata } from '@tus/utils';
import type { Request } from 'express';
import type { UploadMetadata } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';
import type { AppendResult } from '../../store/upload-service.js';
import { appendRequestBody } from './append-body.js';
import { createFinal } from './concat.js';
import { ASSET_ID_HEADER, type TusHandler, uploadUrl } from './context.js';
import { carriesBody, numericHeader, OFFSET_CONTENT_TYPE, TUS_VERSION } from './headers.js';
import { concatHeaders, expiryHeaders, isComplete, offsetOf } from './responses.js';

export const createUpload: TusHandler = async (deps, call) => {
  const { req, res, owner } = call;
  const concat = req.headers['upload-concat'];
  if (concat !== undefined && concat !== 'partial') return createFinal(deps, call, String(concat));
  const length = numericHeader(req, 'upload-length');
  const deferred = req.headers['upload-defer-length'] !== undefined;
  if ((length === undefined) !== deferred) {
    throw new UploadError(
      'validation_error',
      deferred
        ? 'send Upload-Length or Upload-Defer-Length: 1, not both'
        : 'send Upload-Length, or Upload-Defer-Length: 1',
    );
  }
  const withBody = carriesBody(req);
  // the header validators (headers.ts) check a type that is sent; a body without one is refused here
  if (withBody && req.headers['content-type'] === undefined) {
    throw new UploadError('unsupported_media_type', `a creation's body requires Content-Type: ${OFFSET_CONTENT_TYPE}`);
  }
  const leave = withBody ? deps.writeSlots.enter(owner) : undefined;
  try {
    const session = await deps.service.create(owner, {
      length,
      metadata: parseMetadata(req),
      ...(concat === 'partial' ? { concat: 'partial' as const } : {}),
    });
    let outcome: { result: AppendResult; cut: boolean } = { result: { session, asset: undefined }, cut: false };
    // an empty upload is complete as soon as it exists
    if (withBody || length === 0) outcome = await appendRequestBody(deps, call, session, { offset: 0, creating: true });
    const { result } = outcome;
    res.set({
      'Tus-Resumable': TUS_VERSION,
      Location: uploadUrl(deps, req, session.id),
      ...(withBody ? { 'Upload-Offset': String(offsetOf(result.session)) } : {}),
      ...(isComplete(result.session) ? {} : expiryHeaders(result.session)),
      ...concatHeaders(result.session, (id) => uploadUrl(deps, req, id)),
      ...(result.asset ? { [ASSET_ID_HEADER]: result.asset.id } : {}),
      ...(outcome.cut ? { Connection: 'close' } : {}),
    });
    res.status(201).end();
  } finally {
    leave?.();
  }
};

/** Upload-Metadata as key -> value (validated by the header checks). */
export function parseMetadata(req: Request): UploadMetadata {
  const header = req.headers['upload-metadata'];
  if (header === undefined || String(header).trim() === '') return {};
  return Metadata.parse(String(header));
}
