// upload() for browsers: a File or Blob, resumable across page loads through localStorage. A File
// is recognised again by its name, type, size and modification time; a Blob needs `fingerprint`.
import { DefaultHttpStack, defaultOptions } from 'tus-js-client';
import { UploadClientError } from '../errors.js';
import type { Platform, PreparedSource } from '../platform.js';
import type { UploadOptions, UploadTask } from '../types.js';
import { startUpload } from '../upload-task.js';
import { browserBodyChecksum, browserResendable } from './checksum.js';

export function browserPlatform(): Platform {
  return {
    httpStack: new DefaultHttpStack({}),
    urlStorage: defaultOptions.urlStorage,
    checksum: browserBodyChecksum,
    resendable: browserResendable,
    baseHref: globalThis.location?.href,
  };
}

export function prepareBlob(source: Blob, options: UploadOptions, endpoint: string): PreparedSource {
  if (!(source instanceof Blob)) throw new UploadClientError('usage', 'the source must be a File or a Blob');
  const file = source instanceof File ? source : undefined;
  const filename = options.metadata?.filename ?? file?.name ?? 'upload.bin';
  const fingerprint =
    options.fingerprint !== undefined
      ? `custom:${options.fingerprint}:${endpoint}`
      : file
        ? `file:${file.name}:${file.type}:${file.size}:${file.lastModified}:${endpoint}`
        : null;
  return {
    input: source,
    size: source.size,
    filename,
    contentType: options.metadata?.content_type ?? (source.type || undefined),
    fingerprint,
    sliceable: true,
  };
}

export function upload(source: Blob, options: UploadOptions): UploadTask {
  const platform = browserPlatform();
  const endpoint = new URL(options.endpoint, platform.baseHref).toString();
  return startUpload(async () => prepareBlob(source, options, endpoint), options, platform);
}
