// How the object storage is reached and where our objects go: the S3 client built from the
// validated settings (credentials given, or the AWS SDK's default chain), and the key scheme under
// S3_PREFIX: multipart uploads are made straight into their asset's key,
// {prefix}/assets/{owner}/{asset id}/{file name}, so finishing one is CompleteMultipartUpload alone.
import { S3Client } from '@aws-sdk/client-s3';
import { UploadError } from '../errors.js';
import type { UploadShape } from './chunk-storage.js';
import { safeFilename, safeSegment } from './layout.js';

export interface S3Settings {
  bucket: string;
  /** Key prefix without leading or trailing slash; empty for the bucket's root. */
  prefix: string;
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** Given explicitly (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY); otherwise the SDK's default chain. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Local directory of the spool files (chunks not yet whole). */
  spoolDir: string;
  /** Downloads answer with a redirect to a short-lived presigned URL (S3_PRESIGNED_DOWNLOADS). */
  presignedDownloads: boolean;
}

export function makeS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
  });
}

/** `parts` joined under the prefix. */
export function keyOf(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].filter((part) => part.length > 0).join('/');
}

export function assetKey(prefix: string, ownerId: string, assetId: string, filename: string): string {
  return keyOf(prefix, 'assets', safeSegment(ownerId), assetId, safeFilename(filename));
}

/**
 * The asset id an upload gets on object storage: its own 32 hex digits written as a UUID, so the
 * key chosen when its multipart upload begins is the key its asset has.
 */
export function assetIdOf(sessionId: string): string {
  const h = sessionId;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** S3's "this multipart upload (or key) does not exist" errors, by name or status. */
export function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return (
    e?.name === 'NoSuchUpload' ||
    e?.name === 'NoSuchKey' ||
    e?.name === 'NotFound' ||
    e?.$metadata?.httpStatusCode === 404
  );
}

/** S3's limit on the parts of one multipart upload. */
export const MAX_PARTS = 10_000;

export function tooManyParts(shape: UploadShape): UploadError {
  const most = MAX_PARTS * shape.chunkSize;
  return new UploadError(
    'payload_too_large',
    `on object storage an upload has at most ${MAX_PARTS} chunks of ${shape.chunkSize} bytes (${most} bytes); ask for a larger chunk_size`,
  );
}
