// The one error type the client throws: a stable `kind` a program can branch on (and the CLI maps
// to exit codes), the HTTP status and the server's error type when there was a response.

export type ClientErrorKind =
  /** Bad options or arguments: nothing was sent. */
  | 'usage'
  /** 401: no token, a bad or an expired one. */
  | 'auth'
  /** 403: the upload or asset belongs to someone else. */
  | 'forbidden'
  /** 404 or 410: no such upload, session or asset (any more). */
  | 'not_found'
  /** Another 4xx: the server refused the request as it was. */
  | 'refused'
  /** 460: the body did not match its Upload-Checksum. */
  | 'checksum'
  /** A 5xx after the retries ran out. */
  | 'server'
  /** No response at all after the retries ran out. */
  | 'network'
  /** The source could not be read (a missing file, a failing stream). */
  | 'source'
  /** Stopped through the AbortSignal; the upload can be resumed later. */
  | 'aborted'
  /** Stopped by cancel(): the upload was terminated on the server. */
  | 'cancelled';

export class UploadClientError extends Error {
  override readonly name = 'UploadClientError';

  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    /** The HTTP status of the response that failed, if there was one. */
    readonly status?: number,
    /** The server's error type (`{ error }` of a REST error), if it gave one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export function isUploadClientError(error: unknown): error is UploadClientError {
  return error instanceof UploadClientError;
}

export function kindForStatus(status: number): ClientErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 460) return 'checksum';
  if (status >= 500) return 'server';
  return 'refused';
}

/** Reads a REST `{ error, message }` body, or a tus plain-text body, into a message and a code. */
export function describeBody(body: string): { message: string; code?: string } {
  const text = body.trim();
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof parsed.message === 'string') {
      return typeof parsed.error === 'string'
        ? { message: parsed.message, code: parsed.error }
        : { message: parsed.message };
    }
  } catch {
    // plain text, as tus answers
  }
  return { message: text.slice(0, 500) };
}

/** An error for an HTTP response that was not what the call expected. */
export function errorForResponse(what: string, status: number, body: string): UploadClientError {
  const { message, code } = describeBody(body);
  const detail = message || `HTTP ${status}`;
  return new UploadClientError(kindForStatus(status), `${what}: ${detail} (HTTP ${status})`, status, code);
}
