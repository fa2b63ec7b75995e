// A request body appended to an upload (PATCH, and the body of a creation): bounded by what the
// upload may still take, handed to the upload service with the signals that tie it to the
// connection (the client leaving while it waits for the lock) and to the lock (another request
// asking for the upload: the body then ends where it stands, after a drain time). Its checksum comes
// from the Upload-Checksum header, an announced Upload-Checksum trailer, or the caller (the draft's
// Content-Digest).
import type { IncomingMessage } from 'node:http';
import type { SessionIdentity } from '../../db/session-identities.js';
import { UploadError } from '../../store/errors.js';
import type { AppendResult } from '../../store/upload-service.js';
import { type BodyCheck, parseUploadChecksum } from '../../store/write/checksum.js';
import type { TusCall, TusDeps } from './context.js';
import { requestBody } from './request-body.js';
import { announcesTrailerChecksum, trailerChecksum } from './trailer-checksum.js';

export interface AppendOptions {
  offset: number;
  declaredLength?: number | undefined;
  creating?: boolean;
  /** The body ends the upload (the draft's Upload-Complete: ?1): only if it arrives whole. */
  ends?: boolean;
  /** A check of the body given by the caller instead of an Upload-Checksum header. */
  checksum?: BodyCheck | undefined;
}

export interface AppendOutcome {
  result: AppendResult;
  /** The body was ended early because another request took the upload: bytes are left unread. */
  cut: boolean;
}

export async function appendRequestBody(
  deps: TusDeps,
  call: TusCall,
  session: SessionIdentity,
  options: AppendOptions,
): Promise<AppendOutcome> {
  const { req, res, owner } = call;
  const length = session.uploadLength ?? options.declaredLength;
  const limit = bodyLimit(
    req.headers['content-length'],
    options.offset,
    length,
    deps.service.policy.limitFor(session.assetType),
  );
  const header = req.headers['upload-checksum'];
  let checksum = options.checksum ?? (typeof header === 'string' ? parseUploadChecksum(header) : undefined);
  const release = new AbortController();
  let body: AsyncIterable<Buffer> = requestBody(req, { limit, stop: release.signal });
  if (announcesTrailerChecksum(req)) {
    const trailer = trailerChecksum(req, body);
    body = trailer.body;
    checksum = trailer.check;
  }
  if (options.ends) body = wholeBody(req, body);
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once('close', onClose);
  try {
    const result = await deps.service.append(owner, session.id, {
      offset: options.offset,
      body,
      checksum,
      declaredLength: options.declaredLength,
      creating: options.creating === true,
      ends: options.ends === true,
      signal: gone.signal,
      release,
    });
    return { result, cut: release.signal.aborted && !req.complete };
  } finally {
    res.off('close', onClose);
  }
}

/** The bytes this body may carry: what is left of the length, and no more than it says it has. */
function bodyLimit(header: string | undefined, offset: number, length: number | undefined, maxSize: number): number {
  const declared = header === undefined ? undefined : Number(header);
  if (length === undefined) {
    if (declared !== undefined && offset + declared > maxSize) {
      throw new UploadError('payload_too_large', `the upload may not grow past ${maxSize} bytes`);
    }
    return maxSize - offset;
  }
  if (offset + (declared ?? 0) > length) {
    throw new UploadError('payload_too_large', `the body runs past the upload's length of ${length} bytes`);
  }
  return declared ?? Math.max(0, length - offset);
}

/**
 * A body that ends the upload must arrive whole: one cut short (the client went away, or another
 * request took the upload) keeps what became durable but never completes the upload.
 */
async function* wholeBody(req: IncomingMessage, body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield* body;
  if (!req.complete) {
    throw new UploadError('validation_error', 'the body that was to complete the upload ended early; resume it');
  }
}
