// Downloads an asset to a file in Node: streamed to FILE.part and renamed when complete, so an
// interrupted download never leaves a file that looks whole.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type ApiOptions, downloadResponse } from '../rest.js';

export interface DownloadResult {
  file: string;
  bytes: number;
}

export interface DownloadOptions {
  /** Told as bytes arrive, with the asset's length when the server sent it. */
  onProgress?: ((bytes: number, total: number | null) => void) | undefined;
}

export async function downloadToFile(
  api: ApiOptions,
  assetId: string,
  file: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const response = await downloadResponse(api, assetId);
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const total = Number.isSafeInteger(length) ? length : null;
  const partial = `${file}.part`;
  let bytes = 0;
  try {
    const body = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    body.on('data', (block: Buffer) => {
      bytes += block.length;
      options.onProgress?.(bytes, total);
    });
    await pipeline(body, createWriteStream(partial));
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { file, bytes };
}

/** Writes an asset to a stream (stdout for `download ID -o -`). */
export async function downloadToStream(
  api: ApiOptions,
  assetId: string,
  out: NodeJS.WritableStream,
): Promise<DownloadResult> {
  const response = await downloadResponse(api, assetId);
  let bytes = 0;
  const body = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
  body.on('data', (block: Buffer) => {
    bytes += block.length;
  });
  await pipeline(body, out, { end: false });
  return { file: '-', bytes };
}
