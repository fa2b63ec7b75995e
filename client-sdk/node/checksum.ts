// Upload-Checksum in Node: sha256 of a request body, which tus-js-client gives as a Buffer (buffer
// and stream sources) or as a file stream over a byte range (path sources), read a second time.
import { createHash } from 'node:crypto';
import { createReadStream, ReadStream } from 'node:fs';

export async function nodeBodyChecksum(body: unknown): Promise<string | undefined> {
  const hash = createHash('sha256');
  if (body instanceof Uint8Array) {
    hash.update(body);
  } else if (body instanceof ReadStream) {
    const { path, start, end } = body as ReadStream & { start?: number; end?: number };
    const range = createReadStream(path, { start: start ?? 0, end: end ?? Number.POSITIVE_INFINITY });
    for await (const block of range) hash.update(block as Buffer);
  } else {
    return undefined;
  }
  return `sha256 ${hash.digest('base64')}`;
}

/** A Buffer can be sent again after a 401; a stream has been used up. */
export function nodeResendable(body: unknown): boolean {
  return body === null || body === undefined || body instanceof Uint8Array;
}
