// Assets: metadata, download (Range requests, ETag from the sha256, a safely encoded
// Content-Disposition) and delete, for their owner.
import { type Response, Router } from 'express';
import type { Asset } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';
import { servedMediaType } from '../../store/media-type.js';
import type { ChunkStorage } from '../../store/storage/chunk-storage.js';
import { attachmentOf, safeFilename } from '../../store/storage/layout.js';
import type { UploadService } from '../../store/upload-service.js';
import { principalOf } from '../http/auth.js';
import { streamAsset } from './asset-stream.js';
import { assetView } from './asset-view.js';

export interface AssetDeps {
  service: UploadService;
}

/**
 * Streams an asset, honouring Range, If-None-Match and If-Range against its sha256 ETag. The bytes
 * are the user's: a download never runs as a page of this origin (attachment, nosniff, and a CSP
 * sandbox for a browser that renders it anyway), and the name and type from the row are checked
 * again, as rows written before they were validated may hold anything.
 */
export async function sendAsset(storage: ChunkStorage, asset: Asset, res: Response): Promise<void> {
  const type = servedMediaType(asset.contentType);
  const direct = await storage.downloadUrl?.(asset.storagePath, {
    contentType: type,
    disposition: attachmentOf(asset.filename),
  });
  if (direct) {
    // the URL is a credential for five minutes: no cache keeps it
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, direct);
    return;
  }
  res.setHeader('ETag', `"${asset.sha256}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', 'sandbox');
  res.attachment(safeFilename(asset.filename));
  res.type(type);
  const file = storage.assetFile(asset.storagePath);
  if (file === undefined) return streamAsset(storage, asset, res);
  return new Promise<void>((resolve, reject) => {
    res.sendFile(
      file,
      { etag: false, lastModified: false, dotfiles: 'allow', acceptRanges: true, cacheControl: false },
      (error) => {
        if (!error || res.headersSent) {
          resolve();
          return;
        }
        // the answer is now a JSON error, not the asset
        for (const name of ['Content-Type', 'Content-Disposition', 'ETag', 'Content-Security-Policy']) {
          res.removeHeader(name);
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new UploadError('storage_error', `the file of asset ${asset.id} is missing`));
        } else if ((error as { status?: number }).status === 416) {
          // send has set Content-Range: bytes */size
          reject(new UploadError('range_not_satisfiable', `the Range is outside the asset's ${asset.size} bytes`));
        } else reject(error);
      },
    );
  });
}

export function assetRoutes(deps: AssetDeps): Router {
  const router = Router();
  const own = (owner: string, id: unknown) => deps.service.getAsset(owner, String(id));
  router.get('/:id', async (req, res) => {
    res.json(assetView(await own(principalOf(req).sub, req.params.id)));
  });
  router.get('/:id/download', async (req, res) => {
    await sendAsset(deps.service.storage, await own(principalOf(req).sub, req.params.id), res);
  });
  router.delete('/:id', async (req, res) => {
    await deps.service.deleteAsset(principalOf(req).sub, String(req.params.id));
    res.status(204).end();
  });
  return router;
}
