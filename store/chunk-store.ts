// ChunkStore: the upload service as a @tus/server DataStore, for applications that run a plain
// @tus/server over this project's storage. One instance serves one caller: it is made per request
// with the owner the application authenticated, so every operation is that owner's and nothing is
// read from ambient request state. A length declared by a PATCH is held until that PATCH's write,
// which stores it with the bytes.
import type { Readable } from 'node:stream';
import { DataStore, Upload } from '@tus/utils';
import type { Asset, UploadSession } from '../db/schema.js';
import { assertLive } from './lifecycle.js';
import type { UploadService } from './upload-service.js';

export class ChunkStore extends DataStore {
  override extensions = ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration'];
  private declaredLength: number | undefined;

  constructor(
    private readonly service: UploadService,
    private readonly ownerId: string,
  ) {
    super();
  }

  override async create(upload: Upload): Promise<Upload> {
    const session = await this.service.create(this.ownerId, { length: upload.size, metadata: upload.metadata ?? {} });
    // @tus/server names the upload; the service names its own and the URL must follow it
    upload.id = session.id;
    return toUpload(session, this.service.sessionTtlMs);
  }

  override async getUpload(id: string): Promise<Upload> {
    return toUpload(assertLive(await this.service.get(this.ownerId, id)), this.service.sessionTtlMs);
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const declaredLength = this.declaredLength;
    this.declaredLength = undefined;
    const { session } = await this.service.append(this.ownerId, id, { offset, body: stream, declaredLength });
    return session.status === 'completed' ? (session.uploadLength ?? offset) : session.uploadOffset;
  }

  override async declareUploadLength(_id: string, length: number): Promise<void> {
    this.declaredLength = length;
  }

  override async remove(id: string): Promise<void> {
    await this.service.terminate(this.ownerId, id);
  }

  override getExpiration(): number {
    return this.service.sessionTtlMs;
  }

  /** The asset a finished upload became (for an onUploadFinish hook). */
  async assetOf(id: string): Promise<Asset | undefined> {
    const session = await this.service.get(this.ownerId, id);
    return session.assetId ? this.service.getAsset(this.ownerId, session.assetId) : undefined;
  }
}

/**
 * @tus/server takes an upload as expired once creation_date + TTL has passed; expiry here counts
 * from the last byte received, so creation_date is the expiry less the TTL (none once completed).
 */
function toUpload(session: UploadSession, ttlMs: number): Upload {
  const completed = session.status === 'completed';
  return new Upload({
    id: session.id,
    size: session.uploadLength ?? undefined,
    offset: completed ? (session.uploadLength ?? session.uploadOffset) : session.uploadOffset,
    metadata: session.metadata,
    creation_date: completed ? undefined : new Date(session.expiresAt.getTime() - ttlMs).toISOString(),
  });
}
