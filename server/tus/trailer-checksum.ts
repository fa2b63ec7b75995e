// The tus checksum-trailer extension: Upload-Checksum sent as a trailer of a chunked body, announced
// by a `Trailer: Upload-Checksum` request header. The algorithm is only known once the trailer
// arrives, so the body is hashed with every supported algorithm as it streams through; the store
// records none of it until the check has passed (store/chunk-writer.ts, deferred check), so a
// mismatch, or a body that ends without its trailer, keeps nothing.
import type { IncomingMessage } from 'node:http';
import { UploadError } from '../../store/errors.js';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  type Checksummer,
  checksumMismatch,
  createChecksummer,
  type DeferredCheck,
  parseUploadChecksum,
} from '../../store/write/checksum.js';

/** The request trailers this endpoint reads (Tus-Extension's checksum-trailer is derived from it). */
export const TRAILER_FIELDS: readonly string[] = ['upload-checksum'];

/** True when the request announces an Upload-Checksum trailer. */
export function announcesTrailerChecksum(req: IncomingMessage): boolean {
  const announced = req.headers.trailer;
  if (announced === undefined) return false;
  const names = announced.split(',').map((n) => n.trim().toLowerCase());
  if (!names.includes('upload-checksum')) return false;
  if (req.headers['upload-checksum'] !== undefined) {
    throw new UploadError('validation_error', 'send Upload-Checksum as a header or as a trailer, not both');
  }
  if (req.headers['transfer-encoding'] === undefined) {
    throw new UploadError(
      'validation_error',
      'an Upload-Checksum trailer needs a chunked body (Transfer-Encoding: chunked)',
    );
  }
  return true;
}

export interface TrailerChecksum {
  /** The body, hashed on its way through. */
  body: AsyncIterable<Buffer>;
  /** Run by the store once the body has ended, before anything of it is recorded. */
  check: DeferredCheck;
}

/** Hashes `body` with every algorithm; the check compares the one the trailer names. */
export function trailerChecksum(req: IncomingMessage, body: AsyncIterable<Buffer>): TrailerChecksum {
  const sums = new Map<ChecksumAlgorithm, Checksummer>(CHECKSUM_ALGORITHMS.map((a) => [a, createChecksummer(a)]));
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      // before yielding: the chunk's memory is given back once the next one is asked for
      for (const sum of sums.values()) sum.update(chunk);
      yield chunk;
    }
  }
  const check: DeferredCheck = {
    afterBody() {
      const trailer = req.trailers['upload-checksum'];
      if (!req.complete || trailer === undefined) {
        throw new UploadError(
          'validation_error',
          'the body ended without the Upload-Checksum trailer it announced; none of its bytes were kept',
        );
      }
      // a malformed trailer is a 400, a digest of the wrong length a mismatch, as in a header
      const expected = parseUploadChecksum(trailer);
      if (!sums.get(expected.algorithm)?.digest().equals(expected.digest)) throw checksumMismatch(expected.algorithm);
    },
  };
  return { body: hashed(), check };
}
