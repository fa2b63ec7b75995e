// The storage_uploads table: which multipart upload holds an upload's bytes on object storage, and
// the ETag of every part S3 acknowledged (so completing it needs no ListParts round trip).
import { eq, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { type StorageUpload, storageUploads } from './schema.js';

export class StorageUploadRepository {
  constructor(private readonly db: Db) {}

  async insert(row: { sessionId: string; objectKey: string; uploadId: string; chunkSize: number }): Promise<void> {
    await this.db.insert(storageUploads).values(row);
  }

  async find(sessionId: string): Promise<StorageUpload | undefined> {
    const [row] = await this.db.select().from(storageUploads).where(eq(storageUploads.sessionId, sessionId));
    return row;
  }

  /** Rows whose multipart upload id is one of `uploadIds` (the sweep's check for leftovers). */
  async findByUploadIds(uploadIds: readonly string[]): Promise<StorageUpload[]> {
    if (uploadIds.length === 0) return [];
    return this.db
      .select()
      .from(storageUploads)
      .where(inArray(storageUploads.uploadId, [...uploadIds]));
  }

  /** Records one part; a part sent again replaces its ETag. Atomic beside other parts of the upload. */
  async recordPart(sessionId: string, part: number, etag: string, size: number): Promise<void> {
    const entry = JSON.stringify({ [String(part)]: { etag, size } });
    await this.db
      .update(storageUploads)
      .set({ parts: sql`${storageUploads.parts} || ${entry}::jsonb` })
      .where(eq(storageUploads.sessionId, sessionId));
  }

  async markSealed(sessionId: string): Promise<void> {
    await this.db.update(storageUploads).set({ sealed: true }).where(eq(storageUploads.sessionId, sessionId));
  }

  async delete(sessionId: string): Promise<void> {
    await this.db.delete(storageUploads).where(eq(storageUploads.sessionId, sessionId));
  }
}
