// The cleanup sweep's part on object storage: multipart uploads under our prefix that no live
// session explains (a crash between beginning one and recording it, or a session that ended
// without its abort) are aborted, and spool directories of uploads no longer receiving are
// deleted. Only what is older than the grace period is touched, so an upload being created right
// now is never taken for a leftover. Objects are never deleted here: a completed object is an
// asset (or a finalise in progress), and only its row's deletion removes it.

import { stat } from 'node:fs/promises';
import { ListMultipartUploadsCommand, type MultipartUpload } from '@aws-sdk/client-s3';
import type { LeftoverReport } from './chunk-storage.js';
import { keyOf } from './s3-settings.js';
import type { S3ChunkStorage } from './s3-storage.js';

/** Of the given upload ids, those whose session is still receiving bytes (or finishing). */
export type LiveUploads = (ids: string[]) => Promise<Set<string>>;

export async function sweepS3Leftovers(
  storage: S3ChunkStorage,
  live: LiveUploads,
  olderThan: Date,
): Promise<LeftoverReport> {
  const report: LeftoverReport = { aborted: 0, spoolsRemoved: 0 };
  for await (const page of multipartPages(storage)) {
    const old = page.filter((u) => u.Key && u.UploadId && u.Initiated && u.Initiated < olderThan);
    const rows = await storage.rows.findByUploadIds(old.map((u) => u.UploadId ?? ''));
    const living = await live(rows.map((row) => row.sessionId));
    const owner = new Map(rows.map((row) => [row.uploadId, row.sessionId]));
    for (const upload of old) {
      const sessionId = owner.get(upload.UploadId ?? '');
      if (sessionId !== undefined && living.has(sessionId)) continue;
      // a known upload whose session ended: its row and spool go too
      if (sessionId !== undefined) await storage.remove(sessionId);
      else await storage.abort(upload.Key ?? '', upload.UploadId ?? '');
      report.aborted++;
    }
  }
  const spooled = await storage.spool.uploads();
  const living = await live(spooled);
  for (const id of spooled) {
    if (living.has(id)) continue;
    const info = await stat(storage.spool.uploadDir(id)).catch(() => undefined);
    if (!info || info.mtime >= olderThan) continue;
    await storage.spool.removeAll(id);
    report.spoolsRemoved++;
  }
  return report;
}

/** The multipart uploads in progress under our assets prefix, page by page. */
async function* multipartPages(storage: S3ChunkStorage): AsyncIterable<MultipartUpload[]> {
  const prefix = `${keyOf(storage.settings.prefix, 'assets')}/`;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await storage.client.send(
      new ListMultipartUploadsCommand({
        Bucket: storage.settings.bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        UploadIdMarker: uploadIdMarker,
      }),
    );
    yield page.Uploads ?? [];
    if (!page.IsTruncated) return;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}
