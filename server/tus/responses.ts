// Response headers the tus handlers share: where an upload stands (HEAD, and after a PATCH), when
// it expires, and how it was made (Upload-Concat).
import { Metadata } from '@tus/utils';
import type { UploadSession } from '../../db/schema.js';
import { ACTIVE_STATUSES } from '../../db/status.js';
import { ASSET_ID_HEADER } from './context.js';
import { TUS_VERSION } from './headers.js';

/** The offset a client sees: a completed upload has all its bytes. */
export function offsetOf(session: UploadSession): number {
  return session.status === 'completed' ? (session.uploadLength ?? session.uploadOffset) : session.uploadOffset;
}

export function isComplete(session: UploadSession): boolean {
  return session.status === 'completed';
}

/** Upload-Expires while the upload may still receive bytes (the clock restarts with every byte). */
export function expiryHeaders(session: UploadSession): Record<string, string> {
  return ACTIVE_STATUSES.includes(session.status) ? { 'Upload-Expires': session.expiresAt.toUTCString() } : {};
}

/** `partial`, or `final;<url> <url>` naming the parts in order. */
export function concatHeaders(session: UploadSession, urlOf: (id: string) => string): Record<string, string> {
  if (session.concat === 'partial') return { 'Upload-Concat': 'partial' };
  if (session.concat === 'final') {
    const urls = (session.parts ?? []).map(urlOf).join(' ');
    return { 'Upload-Concat': `final;${urls}` };
  }
  return {};
}

/** Everything HEAD tells about an upload. */
export function uploadHeaders(session: UploadSession, urlOf: (id: string) => string): Record<string, string> {
  const headers: Record<string, string> = {
    'Tus-Resumable': TUS_VERSION,
    'Cache-Control': 'no-store',
    'Upload-Offset': String(offsetOf(session)),
    ...expiryHeaders(session),
    ...concatHeaders(session, urlOf),
  };
  if (session.uploadLength === null) headers['Upload-Defer-Length'] = '1';
  else headers['Upload-Length'] = String(session.uploadLength);
  if (Object.keys(session.metadata).length > 0) headers['Upload-Metadata'] = Metadata.stringify(session.metadata);
  if (isComplete(session) && session.assetId) headers[ASSET_ID_HEADER] = session.assetId;
  return headers;
}
