// The tus PATCH handler. @tus/server would pass the body to the store as a Web stream made from
// the Node request (which copies every chunk) and turned back into Node streams (a PassThrough and
// a size limiter); this handler gives the store the request's own Buffers. It keeps @tus/server's
// rules and their order: the same locker (a DELETE or another PATCH asks a running PATCH to let
// go, and it stops at a durable offset after a grace period), the offset and deferred-length
// checks, the body size bounds, the finish hook and the response headers.

import type { Locker } from '@tus/utils';
import type { Request, Response } from 'express';
import type { ChunkStore } from '../store/chunk-store.js';
import { UploadError } from '../store/errors.js';
import { isValidUploadId } from '../store/layout.js';
import { requestBody } from './request-body.js';
import { uploadIdOf } from './tus-protocol.js';
import type { UploadPolicy } from './upload-policy.js';

export interface TusPatchOptions {
  store: ChunkStore;
  policy: UploadPolicy;
  locker: Locker;
  /** How long a PATCH asked to let go of its lock may go on before it stops (tus's drain time). */
  lockDrainMs?: number;
  /** Response headers for a finished upload (the asset id). */
  onFinish(id: string): Promise<Record<string, string>>;
}

const LOCK_DRAIN_MS = 3000;

export function tusPatchHandler(options: TusPatchOptions) {
  const { store, policy, locker } = options;
  return async (req: Request, res: Response): Promise<void> => {
    const id = uploadIdOf(req);
    if (!id || !isValidUploadId(id)) throw new UploadError('not_found', `upload ${id ?? ''} not found`);
    // tusProtocolChecks has made sure it is there and a whole number
    const offset = Number(req.headers['upload-offset']);
    const session = req.uploadSession?.id === id ? req.uploadSession : undefined;
    const maxSize = session ? policy.limitFor(session.assetType) : policy.largestLimit;

    // the client going away while this request waits for the lock ends the wait
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once('close', onClose);
    // asked to let go: the body ends where it stands once the grace period is over
    const release = new AbortController();
    let drain: NodeJS.Timeout | undefined;
    const lock = locker.newLock(id);
    try {
      await lock.lock(gone.signal, async () => {
        drain ??= setTimeout(() => release.abort(), options.lockDrainMs ?? LOCK_DRAIN_MS);
      });
    } catch (error) {
      res.off('close', onClose);
      throw lockError(error);
    }
    let newOffset: number;
    let size: number | undefined;
    try {
      const upload = await store.getUpload(id);
      size = upload.size;
      if (upload.offset !== offset) {
        throw new UploadError(
          'offset_conflict',
          `Upload-Offset ${offset} does not match the upload's offset ${upload.offset}`,
        );
      }
      const declared = req.headers['upload-length'];
      if (declared !== undefined) {
        const length = Number(declared);
        if (upload.size !== undefined) {
          throw new UploadError('validation_error', 'Upload-Length is already set for this upload');
        }
        if (length < upload.offset) {
          throw new UploadError('validation_error', `Upload-Length ${length} is below the offset ${upload.offset}`);
        }
        policy.assertSize(session?.assetType ?? 'other', length);
        await store.declareUploadLength(id, length);
        size = length;
      }
      const limit = maxBodySize(req, offset, size, maxSize);
      newOffset = await store.write(requestBody(req, { limit, stop: release.signal }), id, offset);
    } finally {
      clearTimeout(drain);
      res.off('close', onClose);
      await lock.unlock();
    }

    res.setHeader('Tus-Resumable', '1.0.0');
    res.setHeader('Upload-Offset', String(newOffset));
    if (newOffset === size) {
      for (const [name, value] of Object.entries(await options.onFinish(id))) res.setHeader(name, value);
    } else if (store.getExpiration() > 0) {
      // the expiry clock restarts with every byte received
      res.setHeader('Upload-Expires', new Date(Date.now() + store.getExpiration()).toUTCString());
    }
    // a request cut short by a lock release leaves unread bytes on the connection
    if (release.signal.aborted && !req.complete) res.setHeader('Connection', 'close');
    res.status(204).end();
  };
}

/** The bytes this body may carry: what is left of the declared length, and no more than it says. */
function maxBodySize(req: Request, offset: number, size: number | undefined, maxSize: number): number {
  const header = req.headers['content-length'];
  const length = header === undefined ? undefined : Number(header);
  if (size === undefined) {
    if (length !== undefined && maxSize > 0 && offset + length > maxSize) {
      throw new UploadError('payload_too_large', `the upload may not grow past ${maxSize} bytes`);
    }
    return maxSize > 0 ? maxSize - offset : Number.MAX_SAFE_INTEGER;
  }
  if (offset + (length ?? 0) > size) {
    throw new UploadError('payload_too_large', `the body runs past the upload's length of ${size} bytes`);
  }
  return length ?? size - offset;
}

/** A lock not got in time is a retryable conflict; a client gone while waiting ends the request. */
function lockError(error: unknown): unknown {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string' && /lock/i.test(body)) {
    return new UploadError('locked', 'the upload is busy with another request; retry shortly');
  }
  return error;
}
