// tus concatenation: a final upload is its partial uploads joined in order. The parts' bytes are
// streamed (never held whole in memory) through the ordinary write path into the final upload's
// data file, so chunks, hashes and durability work as for any other upload; the copy can resume
// from the final's durable offset after a crash.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { UploadSession } from '../db/schema.js';
import type { StorageLayout } from './layout.js';

const READ_BLOCK = 1024 * 1024;

/** The parts' bytes in order, starting `from` bytes into their concatenation. */
export function partsStream(layout: StorageLayout, parts: readonly UploadSession[], from: number): Readable {
  return Readable.from(
    (async function* () {
      let skip = from;
      for (const part of parts) {
        const length = part.uploadLength ?? 0;
        if (skip >= length) {
          skip -= length;
          continue;
        }
        const file = createReadStream(layout.uploadPath(part.id), {
          start: skip,
          end: length - 1,
          highWaterMark: READ_BLOCK,
        });
        for await (const block of file) yield block as Buffer;
        skip = 0;
      }
    })(),
    { objectMode: false },
  );
}

/** Why a session cannot be a part of a final upload, or undefined when it can. */
export function partProblem(part: UploadSession): string | undefined {
  if (part.concat !== 'partial') return `upload ${part.id} is not a partial upload (Upload-Concat: partial)`;
  if (part.status !== 'initiated' && part.status !== 'uploading') return `partial upload ${part.id} is ${part.status}`;
  if (part.uploadLength === null || part.uploadOffset !== part.uploadLength) {
    return `partial upload ${part.id} is not finished (${part.uploadOffset} of ${part.uploadLength ?? '?'} bytes)`;
  }
  return undefined;
}
