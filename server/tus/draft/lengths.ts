// The length of a draft upload, from the two indicators the draft defines: Upload-Length, and
// Upload-Complete: ?1 with a Content-Length (the body is the rest, so the length is where it ends).
// Indicators that disagree, with each other or with a length recorded before, are an inconsistent
// length (400, with the problem type from interop 6 on).
import type { UploadSession } from '../../../db/schema.js';
import type { UploadError } from '../../../store/errors.js';
import type { DraftCall } from './context.js';
import { completeHeader } from './fields.js';
import { inconsistentLength, ProblemError } from './problem.js';

/** The upload's length as this request indicates it, or undefined when it does not. */
export function checkedLength(
  call: DraftCall,
  offset: number,
  declared: number | undefined,
  complete: boolean,
  recorded: number | undefined,
): number | undefined {
  const header = call.req.headers['content-length'];
  const fromBody = complete && header !== undefined ? offset + Number(header) : undefined;
  if (declared !== undefined && fromBody !== undefined && declared !== fromBody) {
    throw inconsistent(
      call,
      `Upload-Length ${declared} disagrees with the ${fromBody} bytes this request completes the upload at`,
    );
  }
  const length = declared ?? fromBody;
  if (length !== undefined && recorded !== undefined && length !== recorded) {
    throw inconsistent(call, `the upload's length is ${recorded}; this request says ${length}`);
  }
  return length;
}

/** A request said it completes the upload, yet its body ends short of the length. */
export function incompleteAfterComplete(call: DraftCall, session: UploadSession): UploadError {
  return inconsistent(
    call,
    `the request said it completes the upload, but the upload has ${session.uploadOffset} of ${session.uploadLength} bytes`,
  );
}

export function inconsistent(call: DraftCall, message: string): UploadError {
  const { version } = call;
  return new ProblemError(
    'validation_error',
    message,
    completeHeader(version, false),
    version.problems ? inconsistentLength() : undefined,
  );
}
