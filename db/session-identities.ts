// What never changes about an upload once its length is known (its owner, concatenation role,
// length and asset type), remembered for the uploads this instance has lately seen. A tus PATCH
// checks its caller and sizes its body against this before it asks for the upload's lock, so the
// owner's PATCHes skip a database read, and a stranger's never reaches the lock (where it would ask
// the owner's running PATCH to let go). Everything that changes is read again under the lock.
import type { UploadSession } from './schema.js';

/** The fields of a session a write may rely on before it holds the lock. */
export type SessionIdentity = Pick<UploadSession, 'id' | 'ownerId' | 'concat' | 'uploadLength' | 'assetType'>;

// Enough for every upload in flight on a busy instance; older ones are simply read again.
const CAPACITY = 4096;

export class SessionIdentities {
  private readonly known = new Map<string, SessionIdentity>();

  /**
   * Remembers a session as read or written. Only with its length known and before it completes:
   * until then none of these fields changes (an asset type is corrected only on completion).
   */
  remember(row: UploadSession): void {
    if (row.uploadLength === null || row.status === 'completed' || this.known.has(row.id)) return;
    if (this.known.size >= CAPACITY) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
    const { id, ownerId, concat, uploadLength, assetType } = row;
    this.known.set(id, { id, ownerId, concat, uploadLength, assetType });
  }

  get(id: string): SessionIdentity | undefined {
    return this.known.get(id);
  }
}
