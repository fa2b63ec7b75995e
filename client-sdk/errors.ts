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
  /** Stopped through the AbortSignal; `resumable` says whether running it again continues it. */
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
    /**
     * For kind 'aborted': true when the server keeps the upload and this client remembers it, so
     * the same upload() (the same CLI command) continues it; false when it would start over.
     */
    readonly resumable = false,
  ) {
    super(message);
  }
}

/** Causes of a failed connection, in words (Node's error codes; browsers give none). */
const CONNECT_CAUSES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

const LOST_CAUSES: Readonly<Record<string, string>> = {
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed',
};

function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * The error for a request that got no answer: "cannot connect to <server> (connection refused)", or
 * "lost the connection to <server> (...)" when it broke off; the same words for every call.
 */
export function connectionError(url: string, error: unknown): UploadClientError {
  let server = url;
  try {
    server = new URL(url).origin;
  } catch {
    // not absolute: name it as given
  }
  const code = errorCode(error);
  const lost = code ? LOST_CAUSES[code] : undefined;
  if (lost) return new UploadClientError('network', `lost the connection to ${server} (${lost})`);
  const cause = (code && CONNECT_CAUSES[code]) ?? (error instanceof Error ? error.message : String(error));
  return new UploadClientError('network', `cannot connect to ${server} (${cause})`);
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
