// PATCH: bytes appended at Upload-Offset. Before the lock only what never changes about the upload
// is checked (its owner, role and length, usually remembered from an earlier read: no database
// round trip). The body goes to the upload service as the request's own Buffers (no Web stream
// round trip); the service holds the upload's lock, reads the session, checks the offset and
// any deferred length under it, and finalises the upload when these bytes complete it. A PATCH
// asked to let go of the lock (another request for the same upload) ends its body after a drain
// time and answers with the durable offset it reached.
import { UploadError } from '../../store/errors.js';
import { appendRequestBody } from './append-body.js';
import { ASSET_ID_HEADER, identityOf, type TusHandler } from './context.js';
import { numericHeader, TUS_VERSION } from './headers.js';
import { expiryHeaders, isComplete, offsetOf } from './responses.js';

export const patchUpload: TusHandler = async (deps, call) => {
  const { req, res, owner } = call;
  if (identityOf(call).concat === 'final') {
    throw new UploadError('forbidden', 'a final upload takes no PATCH: its bytes come from its partial uploads');
  }
  const offset = numericHeader(req, 'upload-offset');
  if (offset === undefined) throw new UploadError('validation_error', 'PATCH requires an Upload-Offset header');
  const { result, cut } = await deps.writeSlots.run(owner, () =>
    appendRequestBody(deps, call, identityOf(call), { offset, declaredLength: numericHeader(req, 'upload-length') }),
  );
  const session = result.session;
  const assetId = result.asset?.id ?? (isComplete(session) ? session.assetId : null);
  res.set({
    'Tus-Resumable': TUS_VERSION,
    'Upload-Offset': String(offsetOf(session)),
    ...(assetId ? { [ASSET_ID_HEADER]: assetId } : expiryHeaders(session)),
    // a body cut short by a lock release leaves unread bytes on the connection
    ...(cut ? { Connection: 'close' } : {}),
  });
  res.status(204).end();
};
