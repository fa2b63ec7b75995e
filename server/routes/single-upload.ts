// POST /storage/upload: the seed's single-shot upload for small files, as multipart form data
// (`file` plus `asset_type`, like the seed's clients send) or as a raw body with `?filename=` and
// `?asset_type=`. It runs through the same session, store and finalise path as every other upload.
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import { type Request, type Response, Router } from 'express';
import type { Asset } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';
import { storedMediaType } from '../../store/media-type.js';
import { principalOf } from '../auth.js';
import type { WriteSlots } from '../write-slots.js';
import { assetView } from './asset-view.js';
import type { AssetDeps } from './assets.js';

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
  const tooLarge = () =>
    new UploadError(
      'payload_too_large',
      `single-shot uploads take at most ${deps.maxBytes} bytes; send larger files with POST /storage/chunked-upload or tus at ${deps.tusPath}`,
    );

  const receive = async (req: Request, stream: Readable, incoming: Incoming): Promise<Asset> => {
    const owner = principalOf(req).sub;
    const { service } = deps;
    const limit = Math.min(deps.maxBytes, service.policy.limitFor(incoming.assetType));
    if (incoming.length !== undefined && incoming.length > deps.maxBytes) throw tooLarge();
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
    const limiter = new ByteLimit(limit, () =>
      limit < deps.maxBytes
        ? new UploadError('payload_too_large', `over the ${limit} byte limit for asset_type ${incoming.assetType}`)
        : tooLarge(),
    );
    // a body cut short (the client went away, or the form ends inside its file) fails the write
    // instead of leaving it waiting for bytes that never come
    const cut = () => {
      if (!stream.readableEnded) limiter.destroy(new UploadError('validation_error', 'the body ended early'));
    };
    if (stream.destroyed) cut();
    else stream.once('close', cut);
    // the write sees the error when it reads; it must not also count as an unhandled one
    limiter.on('error', () => {});
    const { session: stored, asset } = await service.append(owner, session.id, {
      offset: 0,
      body: stream.pipe(limiter),
      ends: true,
      creating: true,
    });
    if (!asset) {
      await service.transition(owner, session.id, 'cancelled').catch(() => {});
      throw new UploadError(
        'validation_error',
        `the body ended after ${stored.uploadOffset} of ${incoming.length ?? '?'} bytes`,
      );
    }
    return asset;
  };

  // The seed's clients append `asset_type` after the file, so it is only known once the file is in.
  const applyLateAssetType = async (owner: string, asset: Asset, assetType: string | undefined): Promise<Asset> => {
    if (!assetType || assetType === asset.assetType) return asset;
    try {
      return await deps.service.retypeAsset(owner, asset.id, assetType);
    } catch (error) {
      await deps.service.deleteAsset(owner, asset.id);
      throw error;
    }
  };

  router.post('/', async (req: Request, res: Response) => {
    const owner = principalOf(req).sub;
    const leave = deps.writeSlots.enter(owner);
    res.once('close', leave);
    const declared = req.headers['content-length'] ? Number(req.headers['content-length']) : undefined;
    if (declared !== undefined && declared > deps.maxBytes + 64 * 1024) {
      res.setHeader('Connection', 'close');
      throw tooLarge();
    }
    const query = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
    let asset: Asset;
    if (req.is('multipart/form-data')) {
      const form = await receiveMultipart(req, (file, info, fields) =>
        receive(req, file, {
          filename: info.filename || query('filename') || 'file',
          contentType: info.mimeType !== 'application/octet-stream' ? info.mimeType : undefined,
          assetType: fields.asset_type ?? query('asset_type') ?? 'other',
          length: undefined,
        }),
      );
      asset = await applyLateAssetType(owner, form.asset, form.fields.asset_type);
    } else {
      asset = await receive(req, req, {
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

type FileHandler = (file: Readable, info: busboy.FileInfo, fields: Record<string, string>) => Promise<Asset>;

/**
 * Streams the one `file` part of a form into `handle`, passing the fields sent before it; resolves
 * with the asset and every field once the whole form is read.
 */
function receiveMultipart(
  req: Request,
  handle: FileHandler,
): Promise<{ asset: Asset; fields: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let started: Promise<Asset> | undefined;
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { files: 1, fields: 20, fieldSize: 4096 },
      });
    } catch (error) {
      // e.g. no boundary in the Content-Type
      reject(new UploadError('validation_error', `malformed form data: ${(error as Error).message}`));
      return;
    }
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, file, info) => {
      // a form that ends inside a file part fails its stream; the parser reports that error below
      file.on('error', () => {});
      if (name !== 'file' || started) {
        file.resume();
        return;
      }
      started = handle(file, info, { ...fields });
      started.catch(() => file.resume());
    });
    parser.on('error', (error: Error) =>
      reject(new UploadError('validation_error', `malformed form data: ${error.message}`)),
    );
    parser.on('close', () => {
      if (!started) reject(new UploadError('validation_error', 'the form has no `file` part'));
      else started.then((asset) => resolve({ asset, fields }), reject);
    });
    req.pipe(parser);
  });
}

/** Passes at most `limit` bytes; one more fails the stream with `tooLarge()`. */
class ByteLimit extends Transform {
  private seen = 0;

  constructor(
    private readonly limit: number,
    private readonly tooLarge: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    callback(this.seen > this.limit ? this.tooLarge() : null, chunk);
  }
}
