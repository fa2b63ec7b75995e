// What each webhook says: the store's events turned into outbox rows (upload.created,
// upload.finished with the asset's id, sha256 and size, upload.failed, upload.cancelled,
// upload.expired), and the JSON body sent for a row.
import type { UploadSession, WebhookOutboxRow } from '../../../db/schema.js';
import type { NewWebhook } from '../../../db/webhook-outbox-repository.js';
import type { FinalizedEvent, StatusEvent } from '../../../store/events.js';

export const WEBHOOK_TYPES = [
  'upload.created',
  'upload.finished',
  'upload.failed',
  'upload.cancelled',
  'upload.expired',
] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];

function uploadOf(s: UploadSession): Record<string, unknown> {
  return {
    id: s.id,
    owner_id: s.ownerId,
    status: s.status,
    filename: s.filename,
    content_type: s.contentType,
    asset_type: s.assetType,
    length: s.uploadLength,
    chunk_size: s.chunkSize,
    total_chunks: s.totalChunks,
    created_at: s.createdAt.toISOString(),
  };
}

export function createdWebhook(s: UploadSession): NewWebhook {
  return { type: 'upload.created', sessionId: s.id, payload: { upload: uploadOf(s) } };
}

export function finishedWebhook(e: FinalizedEvent): NewWebhook {
  const { session, asset } = e;
  return {
    type: 'upload.finished',
    sessionId: session.id,
    payload: {
      upload: { ...uploadOf(session), completed_at: session.completedAt?.toISOString() ?? null },
      asset: {
        id: asset.id,
        sha256: asset.sha256,
        size: asset.size,
        filename: asset.filename,
        content_type: asset.contentType,
        asset_type: asset.assetType,
      },
    },
  };
}

/** failed, cancelled and expired; other status changes send nothing. */
export function statusWebhook(e: StatusEvent): NewWebhook | undefined {
  if (e.status !== 'failed' && e.status !== 'cancelled' && e.status !== 'expired') return undefined;
  return {
    type: `upload.${e.status}`,
    sessionId: e.id,
    payload: { upload: { id: e.id, owner_id: e.ownerId, status: e.status, error: e.error } },
  };
}

/** The body of one delivery attempt; `sent_at` makes each attempt's signature different. */
export function webhookBody(row: WebhookOutboxRow, sentAt: Date): string {
  return JSON.stringify({
    id: row.eventId,
    type: row.type,
    occurred_at: row.createdAt.toISOString(),
    sent_at: sentAt.toISOString(),
    attempt: row.attempts,
    data: row.payload,
  });
}
