// Upload creation (draft): POST {TUS_PATH} with Upload-Complete (interop 3: Upload-Incomplete). The
// session is created at once and announced in a 104 with its URL and limits; the body, if any, is
// appended as the first bytes, with 104s reporting progress; Upload-Complete: ?1 means the body is
// the whole representation, which becomes an asset by the same finalise as every upload.
import { UploadError } from '../../../store/errors.js';
import type { AppendResult } from '../../../store/upload-service.js';
import { appendRequestBody } from '../append-body.js';
import { uploadUrl } from '../context.js';
import { carriesBody } from '../headers.js';
import { contentDigestOf, type DraftHandler, progressResponses } from './context.js';
import { completeOf, integerField } from './fields.js';
import { sendUploadResumptionSupported } from './informational.js';
import { checkedLength, incompleteAfterComplete } from './lengths.js';
import { creationMetadata, stateHeaders, uploadLimits } from './state.js';

export const createDraftUpload: DraftHandler = async (deps, call) => {
  const { req, res, owner, version } = call;
  const complete = completeOf(req, version);
  if (complete === undefined) {
    throw new UploadError('validation_error', `a resumable upload needs ${version.completeField}: ?0 or ?1`);
  }
  if (req.headers['upload-offset'] !== undefined) {
    throw new UploadError('validation_error', 'an upload creation carries no Upload-Offset');
  }
  const length = checkedLength(call, 0, integerField(req, 'upload-length'), complete, undefined);
  const metadata = creationMetadata(req);
  const checksum = contentDigestOf(call);
  const withBody = carriesBody(req);
  const leave = withBody ? deps.writeSlots.enter(owner) : undefined;
  try {
    const session = await deps.service.create(owner, { length, metadata });
    const location = uploadUrl(deps, req, session.id);
    sendUploadResumptionSupported(res, {
      'Upload-Draft-Interop-Version': String(version.interop),
      Location: location,
      ...uploadLimits(version, deps.service, session),
    });
    let outcome: { result: AppendResult; cut: boolean } = { result: { session, asset: undefined }, cut: false };
    // an empty body that completes the upload completes it too (an empty representation)
    if (withBody || complete) {
      const stop = progressResponses(call, session.id);
      try {
        outcome = await appendRequestBody(deps, call, session, { offset: 0, ends: complete, checksum });
      } finally {
        stop();
      }
    }
    const { session: after, asset } = outcome.result;
    if (complete && after.status !== 'completed') throw incompleteAfterComplete(call, after);
    res.set({
      Location: location,
      ...stateHeaders(version, deps.service, after, asset),
      ...(outcome.cut ? { Connection: 'close' } : {}),
    });
    res.status(201).end();
  } finally {
    leave?.();
  }
};
