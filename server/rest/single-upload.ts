// POST /storage/upload: the seed's single-shot upload for small files, as multipart form data
// (`file` plus `asset_type`, like the seed's clients send) or as a raw body with `?filename=` and
// `?asset_type=`. It runs through the same session, store and finalise path as every other upload.
import type { Readable } from 'node:stream';
import { type Request, type Response, Router } from 'express';
import type { Asset } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';
import { storedMediaType } from '../../store/media-type.js';
import { principalOf } from '../http/auth.js';
import type { WriteSlots } from '../http/write-slots.js';
import { assetView } from './asset-view.js';
import type { AssetDeps } from './assets.js';
import { ByteLimit, receiveMultipart } from './multipart.js';

export interface SingleUploadDeps extends AssetDeps {
  writeSlots: WriteSlots;
  maxBytes: number;
  tusPath: string;
}

interface Incoming {
  filename: string;
  contentType: string | undefined;
  assetType: string;
  length: number | undefined;
}

export function singleUploadRoutes(deps: SingleUploadDeps): Router {
  const router = Router();
  router.post('/', async (req: Request, res: Response) => {
    const owner = principalOf(req).sub;
    const leave = deps.writeSlots.enter(owner);
    res.once('close', leave);
    const declared = req.headers['content-length'] ? Number(req.headers['content-length']) : undefined;
    if (declared !== undefined && declared > deps.maxBytes + 64 * 1024) {
      res.setHeader('Connection', 'close');
      throw tooLarge(deps);
    }
    const query = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    let asset: Asset;
    if (req.is('multipart/form-data')) {
      const form = await receiveMultipart(req, (file, info, fields) =>
        receive(deps, owner, file, {
          filename: info.filename || query('filename') || 'file',
          contentType: info.mimeType !== 'application/octet-stream' ? info.mimeType : undefined,
          assetType: fields.asset_type ?? query('asset_type') ?? 'other',
          length: undefined,
        }),
      );
      asset = await applyLateAssetType(deps, owner, form.asset, form.fields.asset_type);
    } else {
      asset = await receive(deps, owner, req, {
        filename: query('filename') ?? 'file',
        contentType: query('content_type'),
        assetType: query('asset_type') ?? 'other',
        length: declared,
      });
    }
    res.status(201).json(assetView(asset));
  });
  return router;
}

function tooLarge(deps: SingleUploadDeps): UploadError {
  return new UploadError(
    'payload_too_large',
    `single-shot uploads take at most ${deps.maxBytes} bytes; send larger files with POST /storage/chunked-upload or tus at ${deps.tusPath}`,
  );
}

/** One upload from `stream`, through the same session, write and finalise as every other. */
async function receive(deps: SingleUploadDeps, owner: string, stream: Readable, incoming: Incoming): Promise<Asset> {
  const { service } = deps;
  const limit = Math.min(deps.maxBytes, service.policy.limitFor(incoming.assetType));
  if (incoming.length !== undefined && incoming.length > deps.maxBytes) throw tooLarge(deps);
  // a form part's or the query's type, checked as a media type like every upload's
  const contentType = storedMediaType(incoming.contentType);
  const session = await service.create(owner, {
    length: incoming.length,
    metadata: {
      filename: incoming.filename,
      asset_type: incoming.assetType,
      ...(contentType ? { filetype: contentType } : {}),
    },
  });
  const overLimit = () =>
    limit < deps.maxBytes
      ? new UploadError('payload_too_large', `over the ${limit} byte limit for asset_type ${incoming.assetType}`)
      : tooLarge(deps);
  const { session: stored, asset } = await service.append(owner, session.id, {
    offset: 0,
    body: limited(stream, limit, overLimit),
    ends: true,
    creating: true,
  });
  if (!asset) {
    // the body's own failure is the answer; a session left behind expires with the sweep
    await service.transition(owner, session.id, 'cancelled').catch(() => {});
    throw new UploadError(
      'validation_error',
      `the body ended after ${stored.uploadOffset} of ${incoming.length ?? '?'} bytes`,
    );
  }
  return asset;
}

/** `stream`, failing once it passes `limit` bytes or is cut short. */
function limited(stream: Readable, limit: number, overLimit: () => Error): Readable {
  const limiter = new ByteLimit(limit, overLimit);
  // a body cut short (the client went away, or the form ends inside its file) fails the write
  // instead of leaving it waiting for bytes that never come
  const cut = () => {
    if (!stream.readableEnded) limiter.destroy(new UploadError('validation_error', 'the body ended early'));
  };
  if (stream.destroyed) cut();
  else stream.once('close', cut);
  // the write sees the error when it reads; it must not also count as an unhandled one
  limiter.on('error', () => {});
  return stream.pipe(limiter);
}

/** The seed's clients append `asset_type` after the file, so it is only known once the file is in. */
async function applyLateAssetType(
  deps: SingleUploadDeps,
  owner: string,
  asset: Asset,
  assetType: string | undefined,
): Promise<Asset> {
  if (!assetType || assetType === asset.assetType) return asset;
  try {
    return await deps.service.retypeAsset(owner, asset.id, assetType);
  } catch (error) {
    await deps.service.deleteAsset(owner, asset.id);
    throw error;
  }
}
