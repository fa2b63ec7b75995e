// tus requests built on the REST helpers' send: Tus-Resumable and the owner's token added, the
// Upload-Metadata encoding, and a PATCH of some bytes at an offset.
import { bearer, type Reply, send } from './rest.js';

/** A tus request with Tus-Resumable and the owner's token (none when `owner` is null). */
export function tusSend(
  method: string,
  url: string,
  owner: string | null,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Reply> {
  return send(method, url, {
    headers: { 'Tus-Resumable': '1.0.0', ...(owner === null ? {} : bearer(owner)), ...headers },
    ...(body ? { body } : {}),
  });
}

/** Upload-Metadata: key base64(value) pairs. */
export function tusMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

/** A tus PATCH of `bytes` at `offset`. */
export function tusPatch(url: string, owner: string, offset: number, bytes: Buffer): Promise<Reply> {
  return tusSend(
    'PATCH',
    url,
    owner,
    { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) },
    bytes,
  );
}
