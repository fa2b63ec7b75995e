// Completing an upload's multipart upload (into its asset, or into an object of its own for a part
// of a concatenation) with exactly the parts its length covers, and the existence check a repeat
// after a crash relies on.
import { CompleteMultipartUploadCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { StorageUpload } from '../../db/schema.js';
import { UploadError } from '../errors.js';
import { isMissing } from './s3-settings.js';
import { type S3SinkDeps, uploadPart } from './s3-sink.js';

/** CompleteMultipartUpload with the recorded parts (the spooled last chunk sent first). */
export async function completeMultipart(deps: S3SinkDeps, row: StorageUpload, length: number): Promise<void> {
  const parts = await partsToComplete(deps, row, length);
  try {
    await deps.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: deps.bucket,
        Key: row.objectKey,
        UploadId: row.uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    // completed by an attempt that crashed before recording so
    if (!isMissing(error) || !(await objectExists(deps, row.objectKey))) throw error;
  }
}

/**
 * The parts to complete an upload of `length` bytes with, exactly parts 1..n: a chunk found whole
 * in the spool is sent from there (a last chunk whose length was unknown while it arrived; bytes
 * past the length, from a request that failed, are left out); any other must have its part
 * recorded at its exact size. A part recorded past the length is not used. An empty upload sends
 * one empty part, as S3 completes nothing without one.
 */
async function partsToComplete(
  deps: S3SinkDeps,
  row: StorageUpload,
  length: number,
): Promise<{ PartNumber: number; ETag: string }[]> {
  const spooled = await deps.spool.list(row.sessionId);
  const count = Math.max(1, Math.ceil(length / row.chunkSize));
  for (let n = 1; n <= count; n++) {
    const chunkStart = (n - 1) * row.chunkSize;
    const size = Math.min(row.chunkSize, length - chunkStart);
    const entry = spooled.find((e) => e.chunkStart === chunkStart);
    if ((entry && entry.size >= size) || (length === 0 && !row.parts['1'])) {
      await uploadPart(deps, row, chunkStart, size);
    } else if (row.parts[String(n)]?.size !== size) {
      throw new UploadError('storage_error', `part ${n} of upload ${row.sessionId} is missing from S3 and the spool`);
    }
  }
  const parts = (await deps.rows.find(row.sessionId))?.parts ?? {};
  return Array.from({ length: count }, (_, i) => ({ PartNumber: i + 1, ETag: parts[String(i + 1)]?.etag ?? '' }));
}

export async function objectExists(deps: S3SinkDeps, key: string): Promise<boolean> {
  try {
    await deps.client.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }));
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}
