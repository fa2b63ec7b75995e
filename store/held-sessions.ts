// The sessions this instance is appending to right now, as it last read or committed them. While
// a PATCH holds an upload's lock exclusively nobody else may change its row (every writer and every
// status change takes that lock), so the holder's copy is the row as stored: a HEAD is answered
// from it instead of queueing a read behind the uploads' own statements. Its offset is what the
// last group commit made durable, never more.
import type { UploadSession } from '../db/schema.js';

export class HeldSessions {
  private readonly rows = new Map<string, UploadSession | undefined>();

  /** The lock of `id` is held exclusively from now on; its row is not known until read. */
  hold(id: string): void {
    this.rows.set(id, undefined);
  }

  /** The row as this holder read or committed it; ignored for uploads not held. */
  update(row: UploadSession): UploadSession {
    if (this.rows.has(row.id)) this.rows.set(row.id, row);
    return row;
  }

  /** The lock is about to be released: others may change the row again. */
  release(id: string): void {
    this.rows.delete(id);
  }

  /** The held upload's row, if this instance holds it and has read it. */
  get(id: string): UploadSession | undefined {
    return this.rows.get(id);
  }
}
