// What the draft's responses say about an upload resource: offset, completeness, length, limits,
// and, once complete, what it became (the asset id, and its digest as Repr-Digest, RFC 9530). Also
// the metadata a creation request carries: tus-style Upload-Metadata if sent (tus-js-client sends
// it), the representation's Content-Type and Content-Disposition filename, and a Repr-Digest
// sha-256, which becomes the upload's declared sha256 that finalising verifies.
import type { IncomingMessage } from 'node:http';
import { Metadata } from '@tus/utils';
import { parse as parseDisposition } from 'content-disposition';
import type { Asset, UploadMetadata, UploadSession } from '../../../db/schema.js';
import { ACTIVE_STATUSES } from '../../../db/status.js';
import { UploadError } from '../../../store/errors.js';
import type { UploadService } from '../../../store/upload-service.js';
import { ASSET_ID_HEADER } from '../context.js';
import { isComplete, offsetOf } from '../responses.js';
import { completeHeader, digestField, limitHeader, sha256DigestField } from './fields.js';
import type { DraftVersion } from './versions.js';

export const PARTIAL_UPLOAD_TYPE = 'application/partial-upload';

/** Upload-Limit of one upload: its asset type's size limit, and its lifetime while it takes bytes. */
export function uploadLimits(version: DraftVersion, service: UploadService, session: UploadSession) {
  const active = ACTIVE_STATUSES.includes(session.status);
  const maxAge = active ? Math.floor((session.expiresAt.getTime() - Date.now()) / 1000) : undefined;
  return limitHeader(version, { maxSize: service.policy.limitFor(session.assetType), maxAge });
}

/** The headers that tell where an upload stands (HEAD, and the answer to a creation or append). */
export function stateHeaders(
  version: DraftVersion,
  service: UploadService,
  session: UploadSession,
  asset: Asset | undefined,
): Record<string, string> {
  const complete = isComplete(session);
  return {
    'Upload-Draft-Interop-Version': String(version.interop),
    'Upload-Offset': String(offsetOf(session)),
    ...completeHeader(version, complete),
    ...(session.uploadLength === null ? {} : { 'Upload-Length': String(session.uploadLength) }),
    ...uploadLimits(version, service, session),
    ...(complete && session.assetId ? { [ASSET_ID_HEADER]: session.assetId } : {}),
    ...(complete && asset ? { 'Repr-Digest': sha256DigestField(asset.sha256) } : {}),
  };
}

/** The media type of a request body, lower case, without parameters. */
export function mediaTypeOf(req: IncomingMessage): string | undefined {
  return req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** The metadata of a new upload from its creation request. */
export function creationMetadata(req: IncomingMessage): UploadMetadata {
  const metadata: UploadMetadata = {};
  const tus = req.headers['upload-metadata'];
  if (typeof tus === 'string' && tus.trim() !== '') {
    try {
      Object.assign(metadata, Metadata.parse(tus));
    } catch {
      throw new UploadError(
        'validation_error',
        'Upload-Metadata is not valid: comma-separated "key base64value" pairs',
      );
    }
  }
  const type = mediaTypeOf(req);
  // the type of the representation, not of a piece of it
  if (type && type !== PARTIAL_UPLOAD_TYPE && type !== 'application/offset+octet-stream') metadata.filetype ??= type;
  const filename = dispositionFilename(req.headers['content-disposition']);
  if (filename !== undefined) metadata.filename ??= filename;
  const sha256 = digestField(req, 'repr-digest').get('sha-256');
  if (sha256 !== undefined) {
    const declared = metadata.sha256?.trim().toLowerCase();
    if (declared && declared !== sha256.toString('hex')) {
      throw new UploadError('validation_error', 'Repr-Digest and the sha256 in Upload-Metadata disagree');
    }
    metadata.sha256 = sha256.toString('hex');
  }
  return metadata;
}

function dispositionFilename(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  try {
    return parseDisposition(header).parameters.filename;
  } catch {
    throw new UploadError('validation_error', 'Content-Disposition is not valid (e.g. inline; filename="photo.jpg")');
  }
}
