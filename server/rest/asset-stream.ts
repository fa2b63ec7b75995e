// Downloads of an asset that is not a local file (object storage): the bytes are streamed through
// the server from the storage, with what sendfile does for local files: a single Range (206, or
// 416 outside the asset), If-Range, and If-None-Match against the sha256 ETag set by the caller.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { Asset } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';
import type { ChunkStorage } from '../../store/storage/chunk-storage.js';

/** The byte range a request asks for, or undefined for the whole asset. */
function requestedRange(res: Response, asset: Asset): { start: number; end: number } | undefined {
  const req = res.req;
  const ifRange = req.headers['if-range'];
  // a Range that depends on a version other than this one is ignored: the whole asset is sent
  if (ifRange !== undefined && ifRange !== `"${asset.sha256}"`) return undefined;
  const ranges = req.range(asset.size, { combine: true });
  if (ranges === undefined || ranges === -2) return undefined;
  if (ranges === -1) {
    res.setHeader('Content-Range', `bytes */${asset.size}`);
    throw new UploadError('range_not_satisfiable', `the Range is outside the asset's ${asset.size} bytes`);
  }
  // several ranges are answered whole, as sendfile does
  const [first] = ranges;
  if (ranges.length !== 1 || !first) return undefined;
  return { start: first.start, end: first.end + 1 };
}

export async function streamAsset(storage: ChunkStorage, asset: Asset, res: Response): Promise<void> {
  res.setHeader('Accept-Ranges', 'bytes');
  const inm = res.req.headers['if-none-match'];
  if (inm?.split(',').some((tag) => tag.trim() === `"${asset.sha256}"` || tag.trim() === '*')) {
    res.status(304).end();
    return;
  }
  const range = requestedRange(res, asset);
  const { start, end } = range ?? { start: 0, end: asset.size };
  if (range) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${start}-${end - 1}/${asset.size}`);
  }
  res.setHeader('Content-Length', String(end - start));
  if (res.req.method === 'HEAD' || end === start) {
    res.end();
    return;
  }
  await pipeline(Readable.from(storage.readAsset(asset.storagePath, start, end)), res);
}
