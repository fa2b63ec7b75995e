// What Node callers may upload (a file path, a Buffer or Uint8Array, a Readable) and how each
// becomes a tus-js-client input with a size, a file name and a fingerprint for resuming: a path by
// its absolute name, size and mtime; a buffer by its sha256; a stream only by the caller's.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { contentTypeFor } from '../content-type.js';
import { UploadClientError } from '../errors.js';
import type { PreparedSource } from '../platform.js';
import { StreamInput } from './stream-source.js';

export type NodeSource = string | Buffer | Uint8Array | Readable;

export interface NodeSourceOptions {
  endpoint: string;
  /** File name sent as metadata (default: the path's base name, or "upload.bin"). */
  filename?: string | undefined;
  contentType?: string | undefined;
  /** Length of a Readable; without it the length is sent with the last request. */
  size?: number | undefined;
  fingerprint?: string | undefined;
}

export async function prepareNodeSource(source: NodeSource, options: NodeSourceOptions): Promise<PreparedSource> {
  const named = (fallback: string) => {
    const filename = options.filename ?? fallback;
    return { filename, contentType: options.contentType ?? contentTypeFor(filename) };
  };
  const custom = options.fingerprint === undefined ? undefined : `custom:${options.fingerprint}:${options.endpoint}`;

  if (typeof source === 'string') {
    const file = path.resolve(source);
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
      throw new UploadClientError('source', `cannot read ${source}: ${error.code ?? error.message}`);
    });
    if (!info.isFile()) throw new UploadClientError('source', `${source} is not a regular file`);
    return {
      // an empty file as an empty Buffer: tus-js-client's file source cannot slice zero bytes
      input: info.size === 0 ? Buffer.alloc(0) : createReadStream(file),
      size: info.size,
      ...named(path.basename(file)),
      fingerprint: custom ?? `file:${file}:${info.size}:${info.mtimeMs}:${options.endpoint}`,
      sliceable: true,
    };
  }
  if (source instanceof Uint8Array) {
    const buffer = Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    const digest = createHash('sha256').update(buffer).digest('hex');
    return {
      input: buffer,
      size: buffer.length,
      ...named('upload.bin'),
      fingerprint: custom ?? `buffer:${digest}:${options.endpoint}`,
      sliceable: true,
    };
  }
  if (source instanceof Readable) {
    if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size < 0)) {
      throw new UploadClientError('usage', `size must be a whole number of bytes, not ${options.size}`);
    }
    // a later call can resume it only if told which upload it is (the stream is read from its start
    // again, skipping what the server has)
    return {
      input: new StreamInput(source),
      size: options.size ?? null,
      ...named('upload.bin'),
      fingerprint: custom ?? null,
      sliceable: false,
    };
  }
  throw new UploadClientError('usage', 'the source must be a file path, a Buffer, a Uint8Array or a Readable stream');
}
