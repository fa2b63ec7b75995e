// A request body appended to an upload (PATCH, and the body of a creation): bounded by what the
// upload may still take, handed to the upload service with the signals that tie it to the
// connection (the client leaving while it waits for the lock) and to the lock (another request
// asking for the upload: the body then ends where it stands, after a drain time).
import type { UploadSession } from '../../db/schema.js';
import { UploadError } from '../../store/errors.js';
import type { AppendResult } from '../../store/upload-service.js';
import { parseUploadChecksum } from '../../store/write/checksum.js';
import type { TusCall, TusDeps } from './context.js';
import { requestBody } from './request-body.js';

export interface AppendOptions {
  offset: number;
  declaredLength?: number | undefined;
  creating?: boolean;
}

export interface AppendOutcome {
  result: AppendResult;
  /** The body was ended early because another request took the upload: bytes are left unread. */
  cut: boolean;
}

export async function appendRequestBody(
  deps: TusDeps,
  call: TusCall,
  session: UploadSession,
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
  const checksum = typeof header === 'string' ? parseUploadChecksum(header) : undefined;
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once('close', onClose);
  const release = new AbortController();
  try {
    const result = await deps.service.append(owner, session.id, {
      offset: options.offset,
      body: requestBody(req, { limit, stop: release.signal }),
      checksum,
      declaredLength: options.declaredLength,
      creating: options.creating === true,
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
