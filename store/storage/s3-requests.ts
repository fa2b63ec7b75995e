// Every request the S3 storage makes, told to whoever listens (the server's metrics): operation,
// outcome, duration and bytes sent. Measured in the client's middleware stack, so retries inside
// the SDK count as one request, as the storage sees them. The same place turns an outage of the
// object store (no connection, a 5xx, throttling) that outlived the SDK's retries into 503
// `unavailable` with Retry-After, as an unreachable database is: the client should come back, and
// nothing it was told is stored was lost.
import type { S3Client } from '@aws-sdk/client-s3';
import { UploadError } from '../errors.js';
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
          if (isOutage(error)) throw unavailable(operation, error);
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

// connection failures of Node's sockets and the SDK's own timeouts
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const OUTAGE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'SlowDown', 'ServiceUnavailable', 'InternalError']);

/** The object store did not answer, or answered that it cannot serve now: not the request's fault. */
export function isOutage(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const x = e as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
    const status = x.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status >= 500) return true;
    if (typeof x.name === 'string' && OUTAGE_NAMES.has(x.name)) return true;
    if (typeof x.code === 'string' && NETWORK_CODES.has(x.code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function unavailable(operation: string, cause: unknown): UploadError {
  const reason = (cause as { name?: string; code?: string }).code ?? (cause as { name?: string }).name ?? 'error';
  const error = new UploadError(
    'unavailable',
    `the object storage is not answering (${operation}: ${reason}); retry shortly, nothing acknowledged was lost`,
    { 'Retry-After': '5' },
  );
  error.cause = cause;
  return error;
}
