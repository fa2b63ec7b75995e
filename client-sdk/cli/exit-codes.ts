// Exit codes of upload-cli, for scripts: one per kind of outcome.
import type { ClientErrorKind } from '../errors.js';

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The server refused, failed or could not be reached; a checksum did not match; a file could not be read. */
  failure: 1,
  /** Bad arguments or options, or no token: nothing was sent. */
  usage: 2,
  /** The token was refused (401) or the upload or asset is someone else's (403). */
  auth: 3,
  /** No such upload, session or asset (404, 410). */
  notFound: 4,
  /** Stopped by Ctrl-C (SIGINT); an upload can be resumed by running the same command again. */
  interrupted: 130,
  /** Stopped by SIGTERM; resumable like Ctrl-C. */
  terminated: 143,
} as const;

export function exitCodeFor(kind: ClientErrorKind): number {
  switch (kind) {
    case 'usage':
      return EXIT.usage;
    case 'auth':
    case 'forbidden':
      return EXIT.auth;
    case 'not_found':
      return EXIT.notFound;
    case 'aborted':
      return EXIT.interrupted;
    default:
      return EXIT.failure;
  }
}
