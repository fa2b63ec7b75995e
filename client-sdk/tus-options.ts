// The tus-js-client options for one upload: chunking (creation-with-upload for a source that fits
// in one request), parallel parts, retries, resuming through the fingerprint store, metadata.
import type {
  DetailedError,
  FileReader,
  HttpStack,
  UploadOptions as TusUploadOptions,
  UrlStorage,
} from 'tus-js-client';
import { UploadClientError } from './errors.js';
import type { PreparedSource } from './platform.js';
import { DEFAULT_RETRY_DELAYS, retryPolicy } from './retry.js';
import { fromTusError } from './tus-errors.js';
import type { UploadMetadata, UploadOptions } from './types.js';

export const DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024;

export interface TusWiring {
  endpoint: string;
  httpStack: HttpStack;
  urlStorage: UrlStorage;
  fileReader?: FileReader | undefined;
  canRefreshToken: () => boolean;
  onProgress: (bytesSent: number, bytesTotal: number | null) => void;
  onSuccess: () => void;
  onError: (error: Error | DetailedError) => void;
}

/** Upload-Metadata: the caller's keys, plus filename and the content type under both usual names. */
export function metadataFor(source: PreparedSource, metadata: UploadMetadata = {}): Record<string, string> {
  const contentType = metadata.content_type ?? source.contentType;
  const all: UploadMetadata = {
    ...metadata,
    filename: metadata.filename ?? source.filename,
    ...(contentType ? { content_type: contentType, filetype: contentType } : {}),
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) if (value !== undefined) out[key] = value;
  return out;
}

export function tusOptions(source: PreparedSource, options: UploadOptions, wiring: TusWiring): TusUploadOptions {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new UploadClientError('usage', `chunkSize must be a whole number of bytes above 0, not ${chunkSize}`);
  }
  const parallel = options.parallelUploads ?? 1;
  if (!Number.isSafeInteger(parallel) || parallel < 1) {
    throw new UploadClientError('usage', `parallelUploads must be 1 or more, not ${parallel}`);
  }
  if (parallel > 1 && (source.size === null || !source.sliceable)) {
    throw new UploadClientError(
      'usage',
      'parallel uploads need a source of known size that can be sliced: a file or a buffer, not a stream',
    );
  }
  const resumable = options.resume !== false && source.fingerprint !== null;
  const retryDelays = [...(options.retryDelays ?? DEFAULT_RETRY_DELAYS)];
  const shouldRetry = retryPolicy({ canRefreshToken: wiring.canRefreshToken });
  return {
    endpoint: wiring.endpoint,
    metadata: metadataFor(source, options.metadata),
    fingerprint: () => Promise.resolve(source.fingerprint as string),
    // tus-js-client refuses uploadSize with parallel uploads; it takes the size from the source then
    ...(source.size === null ? { uploadLengthDeferred: true } : parallel > 1 ? {} : { uploadSize: source.size }),
    chunkSize,
    // the first chunk rides on the POST: a source that fits is sent in a single request (not with a
    // deferred length: tus-js-client then sends no data yet still expects an offset in the answer)
    uploadDataDuringCreation: source.size !== null,
    parallelUploads: parallel,
    retryDelays,
    onShouldRetry: (error, attempt) => {
      const retry = shouldRetry(error, attempt);
      const failure = retry && options.onRetry ? fromTusError(error) : undefined;
      if (failure && (failure.kind === 'network' || failure.kind === 'server')) {
        options.onRetry?.({
          attempt: attempt + 1,
          attempts: retryDelays.length,
          delayMs: retryDelays[attempt] ?? 0,
          error: failure,
        });
      }
      return retry;
    },
    storeFingerprintForResuming: resumable,
    removeFingerprintOnSuccess: true,
    urlStorage: wiring.urlStorage,
    httpStack: wiring.httpStack,
    ...(wiring.fileReader ? { fileReader: wiring.fileReader } : {}),
    onProgress: wiring.onProgress,
    onSuccess: wiring.onSuccess,
    onError: wiring.onError,
  };
}
