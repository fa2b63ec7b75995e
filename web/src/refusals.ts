// An upload the server refused, in words a person can act on: what the status means for them, then
// the server's own reason. Uploads refused this way are not retried (the same request would be
// refused again); the person fixes the cause and presses retry.
import { describeBody } from '../../client-sdk/browser/index.js';

const MEANINGS: Readonly<Record<number, string>> = {
  401: 'The server did not accept the token: it is missing, malformed or expired. Paste a valid token, then retry.',
  403: 'This upload belongs to another user: the token is not for the person who started it.',
  413: 'The file is larger than the server accepts (for this asset type).',
  429: 'Too many uploads: the server limits how many a person may start.',
};

/** The message for a 4xx answer to an upload request, or undefined for any other status. */
export function refusalMessage(
  status: number,
  body: string,
  retryAfter: string | null | undefined,
): string | undefined {
  if (status < 400 || status >= 500) return undefined;
  const reason = describeBody(body).message;
  const meaning = MEANINGS[status] ?? `The server refused the upload (HTTP ${status}).`;
  const seconds = Number(retryAfter);
  const wait =
    status === 429 && Number.isFinite(seconds) && seconds > 0 ? ` Try again in ${Math.ceil(seconds)} s.` : '';
  return `${meaning}${reason ? ` Server: ${reason}` : ''}${wait}`;
}
