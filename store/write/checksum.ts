// The tus checksum extension: Upload-Checksum "<algorithm> <base64 digest>" over one request body.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { UploadError } from '../errors.js';

export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'sha512', 'md5', 'crc32'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
}

/**
 * A check of a whole body that can only run once the body has ended (a checksum sent as a
 * trailer): it throws when the body is not the one its sender meant, and nothing of it is kept.
 */
export interface DeferredCheck {
  afterBody(): void;
}

/** How a body is verified before any of it counts: a checksum known up front, or a deferred check. */
export type BodyCheck = ExpectedChecksum | DeferredCheck;

export interface Checksummer {
  update(data: Buffer): void;
  digest(): Buffer;
}

export function isChecksumAlgorithm(name: string): name is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name);
}

/**
 * Parses an Upload-Checksum header: an unsupported algorithm or a value that is not base64 is a
 * 400; a well-formed digest that cannot match (the wrong length for its algorithm) is a mismatch.
 */
export function parseUploadChecksum(header: string): ExpectedChecksum {
  const match = /^\s*([A-Za-z0-9-]+)\s+([A-Za-z0-9+/]+={0,2})\s*$/.exec(header);
  if (!match?.[1] || !match[2]) {
    throw new UploadError('validation_error', 'Upload-Checksum must be "<algorithm> <base64 digest>"');
  }
  const algorithm = match[1].toLowerCase();
  if (!isChecksumAlgorithm(algorithm)) {
    throw new UploadError(
      'validation_error',
      `checksum algorithm ${JSON.stringify(algorithm.slice(0, 20))} is not supported; use one of ${CHECKSUM_ALGORITHMS.join(', ')}`,
    );
  }
  const digest = Buffer.from(match[2], 'base64');
  if (digest.length !== createChecksummer(algorithm).digest().length) throw checksumMismatch(algorithm);
  return { algorithm, digest };
}

export function createChecksummer(algorithm: ChecksumAlgorithm): Checksummer {
  if (algorithm === 'crc32') {
    let value = 0;
    return {
      update: (data) => {
        value = crc32(data, value);
      },
      digest: () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(value >>> 0);
        return out;
      },
    };
  }
  const hash = createHash(algorithm);
  return { update: (data) => hash.update(data), digest: () => hash.digest() };
}

export function checksumMismatch(algorithm: ChecksumAlgorithm): UploadError {
  return new UploadError(
    'checksum_mismatch',
    `the ${algorithm} checksum of the body does not match the one sent with it; none of its bytes were kept`,
  );
}
