// Every request the S3 storage makes, told to whoever listens (the server's metrics): operation,
// outcome, duration and bytes sent. Measured in the client's middleware stack, so retries inside
// the SDK count as one request, as the storage sees them.
import type { S3Client } from '@aws-sdk/client-s3';
import { isMissing } from './s3-settings.js';

export interface S3Request {
  /** The S3 operation, e.g. UploadPart, CompleteMultipartUpload. */
  operation: string;
  /** not_found: an answer the storage expects and handles (a HEAD of a key not there yet). */
  outcome: 'ok' | 'not_found' | 'error';
  seconds: number;
  /** Body bytes sent (UploadPart, PutObject). */
  bytesSent: number;
}

export type S3RequestListener = (request: S3Request) => void;

export class S3Requests {
  private readonly listeners = new Set<S3RequestListener>();

  constructor(client: S3Client) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const started = performance.now();
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const length = (args.input as { ContentLength?: unknown }).ContentLength;
        const bytesSent = typeof length === 'number' ? length : 0;
        const done = (outcome: S3Request['outcome']) =>
          this.emit({ operation, outcome, seconds: (performance.now() - started) / 1000, bytesSent });
        try {
          const output = await next(args);
          done('ok');
          return output;
        } catch (error) {
          done(isMissing(error) ? 'not_found' : 'error');
          throw error;
        }
      },
      { step: 'initialize', name: 'uploadServerRequestLog' },
    );
  }

  on(listener: S3RequestListener): void {
    this.listeners.add(listener);
  }

  private emit(request: S3Request): void {
    for (const listener of this.listeners) listener(request);
  }
}
