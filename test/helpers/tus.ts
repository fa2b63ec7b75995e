// tus-js-client in Node, as a promise.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import * as tus from 'tus-js-client';
import { tokenFor } from './tokens.js';

export interface TusResult {
  url: string;
  assetId: string | null;
}

export interface TusUploadOptions extends Partial<tus.UploadOptions> {
  owner?: string;
}

/** Uploads a file with tus-js-client and resolves with its URL and the asset id the server sent. */
export async function tusUploadFile(
  endpoint: string,
  file: string,
  options: TusUploadOptions = {},
): Promise<TusResult> {
  const { owner = 'alice', ...rest } = options;
  const size = (await stat(file)).size;
  let assetId: string | null = null;
  return new Promise<TusResult>((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(file), {
      endpoint,
      uploadSize: size,
      headers: { Authorization: `Bearer ${tokenFor(owner)}` },
      metadata: { filename: path.basename(file) },
      retryDelays: [],
      storeFingerprintForResuming: false,
      ...rest,
      onAfterResponse(req, res) {
        const id = res.getHeader('Upload-Asset-Id');
        if (id) assetId = id;
        return rest.onAfterResponse?.(req, res);
      },
      onError: reject,
      onSuccess: () => resolve({ url: upload.url ?? '', assetId }),
    });
    upload.start();
  });
}

/**
 * Uploads a Buffer or a stream with tus-js-client. A stream has no known size, so it suits
 * uploadLengthDeferred (it needs a finite chunkSize); tus-js-client's fs.ReadStream source reports
 * the wrong slice sizes in that mode.
 */
export async function tusUploadSource(
  endpoint: string,
  source: Buffer | Readable,
  options: TusUploadOptions = {},
): Promise<TusResult> {
  const { owner = 'alice', ...rest } = options;
  let assetId: string | null = null;
  return new Promise<TusResult>((resolve, reject) => {
    const upload = new tus.Upload(source, {
      endpoint,
      ...(Buffer.isBuffer(source) ? { uploadSize: source.length } : {}),
      headers: { Authorization: `Bearer ${tokenFor(owner)}` },
      metadata: { filename: 'upload.bin' },
      retryDelays: [],
      storeFingerprintForResuming: false,
      ...rest,
      onAfterResponse(req, res) {
        const id = res.getHeader('Upload-Asset-Id');
        if (id) assetId = id;
        return rest.onAfterResponse?.(req, res);
      },
      onError: reject,
      onSuccess: () => resolve({ url: upload.url ?? '', assetId }),
    });
    upload.start();
  });
}
