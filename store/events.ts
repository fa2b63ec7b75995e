// What happens to uploads, as typed events: the hooks that metrics, live progress and webhooks
// listen to. Emitted by the store after the change is durable (row committed).
import { EventEmitter } from 'node:events';
import type { Asset, UploadSession, UploadStatus } from '../db/schema.js';

export interface ProgressEvent {
  id: string;
  ownerId: string;
  offset: number;
  length: number | null;
  /** Bytes this record added to the upload. */
  bytes: number;
  /** Chunk numbers completed by this record. */
  chunks: number[];
}

export interface StatusEvent {
  id: string;
  ownerId: string;
  status: UploadStatus;
  assetId: string | null;
  error: string | null;
}

export interface FinalizedEvent {
  session: UploadSession;
  asset: Asset;
  /** Time spent finalising (verify, move, commit). */
  ms: number;
}

export interface UploadEventMap {
  created: [UploadSession];
  progress: [ProgressEvent];
  status: [StatusEvent];
  finalized: [FinalizedEvent];
}

export class UploadEvents extends EventEmitter<UploadEventMap> {
  status(session: UploadSession): void {
    this.emit('status', {
      id: session.id,
      ownerId: session.ownerId,
      status: session.status,
      assetId: session.status === 'completed' ? session.assetId : null,
      error: session.error,
    });
  }
}
