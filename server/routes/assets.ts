// Assets: metadata, download (Range requests, ETag from the sha256, a safely encoded
// Content-Disposition) and delete. Also serves GET {TUS_PATH}/:id for a finished tus upload.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { type Request, type Response, Router } from 'express';
import type { AssetRepository } from '../../db/asset-repository.js';
import type { Asset } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { UploadError } from '../../store/errors.js';
import type { StorageLayout } from '../../store/layout.js';
import { principalOf } from '../auth.js';
import { assetView } from './asset-view.js';

export interface AssetDeps {
  assets: AssetRepository;
  sessions: SessionRepository;
  layout: StorageLayout;
}

export async function ownAsset(assets: AssetRepository, req: Request, id: string): Promise<Asset> {
  const asset = /^[0-9a-f-]{36}$/i.test(id) ? await assets.find(id) : undefined;
  if (!asset) throw new UploadError('not_found', `asset ${id} not found`);
  if (asset.ownerId !== principalOf(req).sub) throw new UploadError('forbidden', `asset ${id} belongs to another user`);
  return asset;
}

/** Streams an asset, honouring Range, If-None-Match and If-Range against its sha256 ETag. */
export function sendAsset(layout: StorageLayout, asset: Asset, res: Response): Promise<void> {
  res.setHeader('ETag', `"${asset.sha256}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.attachment(asset.filename);
  res.type(asset.contentType ?? 'application/octet-stream');
  return new Promise<void>((resolve, reject) => {
    res.sendFile(
      layout.resolve(asset.storagePath),
      { etag: false, lastModified: false, dotfiles: 'allow', acceptRanges: true, cacheControl: false },
      (error) => {
        if (!error || res.headersSent) {
          resolve();
          return;
        }
        // the answer is now a JSON error, not the asset
        for (const name of ['Content-Type', 'Content-Disposition', 'ETag']) res.removeHeader(name);
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

/**
 * Deletes the row first (its sessions stop naming it in the same transaction): a crash in between
 * leaves an orphan file for cleanup, never a dangling row.
 */
export async function deleteAsset(deps: AssetDeps, asset: Asset): Promise<void> {
  await deps.assets.delete(asset.id);
  await rm(path.dirname(deps.layout.resolve(asset.storagePath)), { recursive: true, force: true });
}

export function assetRoutes(deps: AssetDeps): Router {
  const router = Router();
  router.get('/:id', async (req, res) => {
    res.json(assetView(await ownAsset(deps.assets, req, String(req.params.id))));
  });
  router.get('/:id/download', async (req, res) => {
    await sendAsset(deps.layout, await ownAsset(deps.assets, req, String(req.params.id)), res);
  });
  router.delete('/:id', async (req, res) => {
    const asset = await ownAsset(deps.assets, req, String(req.params.id));
    await deleteAsset(deps, asset);
    res.status(204).end();
  });
  return router;
}

/** GET {TUS_PATH}/:id on a finished tus upload downloads its asset. */
export function tusDownloadRoute(deps: AssetDeps): Router {
  const router = Router();
  router.get('/:id', async (req, res, next) => {
    // express routes HEAD to GET handlers; a tus HEAD must reach @tus/server
    if (req.method === 'HEAD') {
      next();
      return;
    }
    const id = String(req.params.id);
    const session = await deps.sessions.find(id);
    if (!session) throw new UploadError('not_found', `upload ${id} not found`);
    if (session.ownerId !== principalOf(req).sub)
      throw new UploadError('forbidden', `upload ${id} belongs to another user`);
    if (session.status === 'completed' && !session.assetId) {
      throw new UploadError('not_found', `the asset of upload ${id} was deleted`);
    }
    const asset =
      session.status === 'completed' && session.assetId ? await deps.assets.find(session.assetId) : undefined;
    if (!asset) throw new UploadError('not_found', `upload ${id} has no asset (it is ${session.status})`);
    await sendAsset(deps.layout, asset, res);
  });
  return router;
}
