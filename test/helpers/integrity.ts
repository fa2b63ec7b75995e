// Digests in the forms the tus checksum extension and the REST chunk route use, the body of a raw
// node:http response, and asset downloads compared with their source over HTTP.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { crc32 } from 'node:zlib';
import { expect } from 'chai';
import { filesEqual, sha256File } from './files.js';
import { tokenFor } from './tokens.js';

export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5', 'crc32'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** The raw digest of `data`; crc32 as 4 big-endian bytes. */
export function digestOf(algorithm: ChecksumAlgorithm, data: Buffer): Buffer {
  if (algorithm === 'crc32') {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc32(data) >>> 0);
    return out;
  }
  return createHash(algorithm).update(data).digest();
}

/** An Upload-Checksum header value for `data`. */
export function uploadChecksum(algorithm: ChecksumAlgorithm, data: Buffer): string {
  return `${algorithm} ${digestOf(algorithm, data).toString('base64')}`;
}

/** An Upload-Checksum header value of the right shape for `algorithm` that does not match `data`. */
export function wrongChecksum(algorithm: ChecksumAlgorithm, data: Buffer): string {
  const digest = digestOf(algorithm, data);
  digest[0] = (digest[0] ?? 0) ^ 0xff;
  return `${algorithm} ${digest.toString('base64')}`;
}

/** Reads a node:http response body whole. */
export async function readBody(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Downloads an asset through GET /storage/assets/:id/download into `target` and checks it is
 * byte-identical to `source`.
 */
export async function expectDownloadEquals(
  baseUrl: string,
  owner: string,
  assetId: string | null,
  source: string,
  target: string,
): Promise<void> {
  expect(assetId, 'asset id').to.be.a('string');
  const res = await fetch(`${baseUrl}/storage/assets/${assetId}/download`, {
    headers: { Authorization: `Bearer ${tokenFor(owner)}` },
  });
  expect(res.status).to.equal(200);
  await writeFile(target, Buffer.from(await res.arrayBuffer()));
  expect(await sha256File(target)).to.equal(await sha256File(source));
  expect(await filesEqual(target, source), 'downloaded asset equals the source').to.equal(true);
}
