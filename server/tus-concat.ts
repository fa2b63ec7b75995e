// POST with Upload-Concat (the tus concatenation extension). @tus/server 2.x refuses final uploads
// (it demands an Upload-Length they must not carry), so finals are created here: every part must be
// the caller's own, finished, partial upload; the parts are joined, finalised, and the response
// carries the new upload's Location and its asset id. Partial uploads go on to @tus/server as
// ordinary creations, marked partial through the store's request context.
import { randomBytes } from 'node:crypto';
import { Metadata } from '@tus/utils';
import type { NextFunction, Request, Response } from 'express';
import type { SessionRepository } from '../db/session-repository.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { partProblem } from '../store/concatenate.js';
import { UploadError } from '../store/errors.js';
import { isValidUploadId } from '../store/layout.js';
import { principalOf } from './auth.js';
import type { Logger } from './logger.js';
import { ASSET_ID_HEADER } from './tus.js';
import type { UploadPolicy } from './upload-policy.js';

export interface ConcatDeps {
  store: ChunkStore;
  sessions: SessionRepository;
  policy: UploadPolicy;
  tusPath: string;
  log: Logger;
}

const MAX_PARTS = 1000;

export function isPartialCreation(req: Request): boolean {
  return req.method === 'POST' && req.headers['upload-concat'] === 'partial';
}

/** Handles `Upload-Concat: final;...` creations; passes everything else on. */
export function concatenationRoute(deps: ConcatDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers['upload-concat'];
    if (req.method !== 'POST' || header === undefined || header === 'partial') {
      next();
      return;
    }
    try {
      await createFinal(deps, req, res, String(header));
    } catch (error) {
      next(error);
    }
  };
}

async function createFinal(deps: ConcatDeps, req: Request, res: Response, header: string): Promise<void> {
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
  const ids = match[1].trim().split(/\s+/).map(partId);
  if (ids.length > MAX_PARTS) throw new UploadError('validation_error', `at most ${MAX_PARTS} parts may be joined`);
  const owner = principalOf(req).sub;
  const found = new Map((await deps.sessions.findMany(ids)).map((s) => [s.id, s]));
  let total = 0;
  for (const id of ids) {
    const part = found.get(id);
    if (!part) throw new UploadError('not_found', `partial upload ${id} not found`);
    if (part.ownerId !== owner) throw new UploadError('forbidden', `partial upload ${id} belongs to another user`);
    const problem = partProblem(part);
    if (problem) throw new UploadError('invalid_state', problem);
    total += part.uploadLength ?? 0;
  }
  const metadata = parseMetadata(req.headers['upload-metadata']);
  await deps.policy.assertMayCreate(owner, metadata.asset_type ?? 'other', total);

  const id = randomBytes(16).toString('hex');
  await deps.store.createSession({ id, ownerId: owner, length: total, metadata, concat: 'final', parts: ids });
  const asset = await deps.store.concatenate(id);
  deps.log.info(
    { upload_id: id, asset_id: asset.id, owner, parts: ids.length, size: total },
    'concatenation finalised',
  );
  res
    .status(201)
    .set({
      'Tus-Resumable': '1.0.0',
      Location: `${deps.tusPath}/${id}`,
      'Upload-Offset': String(total),
      [ASSET_ID_HEADER]: asset.id,
    })
    .end();
}

/** The upload id at the end of a part URL, absolute or relative. */
function partId(url: string): string {
  let path: string;
  try {
    path = new URL(url, 'http://placeholder').pathname;
  } catch {
    throw new UploadError('validation_error', `Upload-Concat part ${JSON.stringify(url.slice(0, 80))} is not a URL`);
  }
  const id = path.split('/').filter(Boolean).pop() ?? '';
  if (!isValidUploadId(id)) {
    throw new UploadError('validation_error', `Upload-Concat part ${JSON.stringify(url.slice(0, 80))} names no upload`);
  }
  return id;
}

function parseMetadata(header: string | string[] | undefined): Record<string, string | null> {
  if (header === undefined) return {};
  try {
    return Metadata.parse(String(header));
  } catch {
    throw new UploadError('validation_error', 'Upload-Metadata is not valid: comma-separated "key base64value" pairs');
  }
}
