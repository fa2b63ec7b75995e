// RFC 9457 problem details for the draft's problem types: an UploadError that the error renderer
// sends as application/problem+json (server/http/error-handler.ts) instead of plain text.
import { type ErrorType, UploadError } from '../../../store/errors.js';

const TYPES = 'https://iana.org/assignments/http-problem-types#';

export type Problem = { type: string; title: string } & Record<string, unknown>;

export class ProblemError extends UploadError {
  constructor(
    type: ErrorType,
    message: string,
    headers: Readonly<Record<string, string>>,
    readonly problem: Problem | undefined,
  ) {
    super(type, message, headers);
  }

  /** The JSON body: the problem, with the message as its detail. */
  get problemBody(): string {
    return JSON.stringify({ ...this.problem, detail: this.message });
  }
}

export function mismatchingOffset(expected: number, provided: number): Problem {
  return {
    type: `${TYPES}mismatching-upload-offset`,
    title: 'offset from request does not match offset of resource',
    'expected-offset': expected,
    'provided-offset': provided,
  };
}

export function completedUpload(): Problem {
  return { type: `${TYPES}completed-upload`, title: 'upload is already completed' };
}

export function inconsistentLength(): Problem {
  return { type: `${TYPES}inconsistent-upload-length`, title: 'inconsistent length values for upload' };
}
