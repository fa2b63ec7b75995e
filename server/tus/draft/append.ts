// Upload append (draft): PATCH {TUS_PATH}/{id} with Upload-Offset, Upload-Complete and, from
// interop 6 on, Content-Type: application/partial-upload. The same append as a tus PATCH (the
// upload's lock, the offset checked under it, finalised when complete); a mismatching offset is a
// 409 that names the right one, with the mismatching-upload-offset problem from interop 6 on.
import type { UploadSession } from '../../../db/schema.js';
import { isUploadError, UploadError } from '../../../store/errors.js';
import { appendRequestBody } from '../append-body.js';
import { type TusDeps, uploadOf } from '../context.js';
import { contentDigestOf, type DraftCall, type DraftHandler, progressResponses } from './context.js';
import { completeHeader, completeOf, hasCompleteField, integerField } from './fields.js';
import { checkedLength, incompleteAfterComplete, inconsistent } from './lengths.js';
import { completedUpload, mismatchingOffset, ProblemError } from './problem.js';
import { mediaTypeOf, PARTIAL_UPLOAD_TYPE, stateHeaders } from './state.js';

export const appendDraftUpload: DraftHandler = async (deps, call) => {
  const { req, res, owner, version } = call;
  const session = uploadOf(call);
  if (version.partialUploadType && mediaTypeOf(req) !== PARTIAL_UPLOAD_TYPE) {
    throw new UploadError('unsupported_media_type', `an upload append requires Content-Type: ${PARTIAL_UPLOAD_TYPE}`);
  }
  const offset = integerField(req, 'upload-offset');
  if (offset === undefined)
    throw new UploadError('validation_error', 'an upload append needs Upload-Offset: <integer>');
  const said = completeOf(req, version);
  if (said === undefined && (version.completeRequired || hasCompleteField(req, version))) {
    throw new UploadError('validation_error', `an upload append needs ${version.completeField}: ?0 or ?1`);
  }
  const complete = said === true;
  if (session.concat === 'final') {
    throw new UploadError('forbidden', 'a final concatenation upload takes no appends: its bytes come from its parts');
  }
  if (session.status === 'completed') throw appendToCompleted(call, session);
  const recorded = session.uploadLength ?? undefined;
  const length = checkedLength(call, offset, integerField(req, 'upload-length'), complete, recorded);
  const stop = progressResponses(call, session.id);
  let outcome: Awaited<ReturnType<typeof appendRequestBody>>;
  try {
    outcome = await deps.writeSlots.run(owner, () =>
      appendRequestBody(deps, call, session, {
        offset,
        declaredLength: recorded === undefined ? length : undefined,
        ends: complete,
        checksum: contentDigestOf(call),
      }),
    );
  } catch (error) {
    throw await withOffset(deps, call, session.id, offset, error);
  } finally {
    stop();
  }
  const { session: after, asset } = outcome.result;
  const done = after.status === 'completed';
  if (complete && !done) throw incompleteAfterComplete(call, after);
  res.set({ ...stateHeaders(version, deps.service, after, asset), ...(outcome.cut ? { Connection: 'close' } : {}) });
  res.status(done ? version.completeStatus : version.incompleteStatus).end();
};

/** Appending to a completed upload changes nothing: bytes are an inconsistent length (interop 8), else the upload is complete. */
function appendToCompleted(call: DraftCall, session: UploadSession): UploadError {
  const bytes = Number(call.req.headers['content-length'] ?? 1);
  if (call.version.appendToCompletedIsLength && bytes > 0) {
    return inconsistent(call, `upload ${session.id} is complete; it takes no more bytes`);
  }
  return new ProblemError(
    'invalid_state',
    `upload ${session.id} is already complete`,
    completeHeader(call.version, true),
    call.version.problems ? completedUpload() : undefined,
  );
}

/** A mismatching offset answered with the upload's real one, as the draft requires. */
async function withOffset(
  deps: TusDeps,
  call: DraftCall,
  id: string,
  provided: number,
  error: unknown,
): Promise<unknown> {
  if (!isUploadError(error) || error.type !== 'offset_conflict') return error;
  const current = await deps.service.get(call.owner, id).catch(() => undefined);
  if (!current) return error;
  return new ProblemError(
    'offset_conflict',
    error.message,
    { 'Upload-Offset': String(current.uploadOffset), ...completeHeader(call.version, false) },
    call.version.problems ? mismatchingOffset(current.uploadOffset, provided) : undefined,
  );
}
