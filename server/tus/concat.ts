// POST with `Upload-Concat: final;<url> <url> ...` (the tus concatenation extension): the parts
// must be the caller's own finished partial uploads, each named once; they are joined into a new
// upload that becomes an asset at once.
import type { Request } from 'express';
import { UploadError } from '../../store/errors.js';
import { ASSET_ID_HEADER, type TusCall, type TusDeps, uploadUrl } from './context.js';
import { TUS_VERSION } from './headers.js';
import { parseMetadata } from './post.js';
import { concatHeaders, offsetOf } from './responses.js';
import { parseTusTarget } from './target.js';

export async function createFinal(deps: TusDeps, call: TusCall, header: string): Promise<void> {
  const { req, res, owner } = call;
  const match = /^final;(.*)$/.exec(header);
  if (!match?.[1]?.trim()) {
    throw new UploadError('validation_error', 'Upload-Concat must be "partial" or "final;<url> <url> ..."');
  }
  if (req.headers['upload-length'] !== undefined || req.headers['upload-defer-length'] !== undefined) {
    throw new UploadError(
      'validation_error',
      'a final upload must not carry Upload-Length: it is the sum of its parts',
    );
  }
  const parts = match[1]
    .trim()
    .split(/\s+/)
    .map((url) => partId(url, deps.tusPath));
  const { session, asset } = await deps.writeSlots.run(owner, () =>
    deps.service.concatenate(owner, { parts, metadata: parseMetadata(req as Request) }),
  );
  deps.log.info(
    { upload_id: session.id, asset_id: asset?.id, owner, parts: parts.length, size: session.uploadLength },
    'concatenation finalised',
  );
  res
    .status(201)
    .set({
      'Tus-Resumable': TUS_VERSION,
      Location: uploadUrl(deps, req, session.id),
      'Upload-Offset': String(offsetOf(session)),
      ...concatHeaders(session, (id) => uploadUrl(deps, req, id)),
      ...(asset ? { [ASSET_ID_HEADER]: asset.id } : {}),
    })
    .end();
}

/** The upload id a part URL (absolute or relative) names, by the same rule as request URLs. */
function partId(url: string, tusPath: string): string {
  const shown = JSON.stringify(url.slice(0, 80));
  let path: string;
  try {
    path = new URL(url, 'http://placeholder').pathname;
  } catch {
    throw new UploadError('validation_error', `Upload-Concat part ${shown} is not a URL`);
  }
  const target = parseTusTarget(path, tusPath);
  if (target?.kind !== 'upload') {
    throw new UploadError('validation_error', `Upload-Concat part ${shown} is not an upload URL of ${tusPath}`);
  }
  return target.id;
}
