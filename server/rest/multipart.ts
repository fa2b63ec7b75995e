// A multipart form body for the single-request upload: its one `file` part streamed to a handler,
// the fields sent before it passed along, every field returned once the form is read; and a
// transform that fails a stream once it carries more than a limit.
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import type { Asset } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';

export type FileHandler = (file: Readable, info: busboy.FileInfo, fields: Record<string, string>) => Promise<Asset>;

/**
 * Streams the one `file` part of a form into `handle`, passing the fields sent before it; resolves
 * with the asset and every field once the whole form is read.
 */
export function receiveMultipart(
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
export class ByteLimit extends Transform {
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
