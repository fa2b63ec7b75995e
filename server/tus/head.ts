// HEAD: where an upload stands, from its row (read for the owner check; HEAD takes no lock, so a
// running PATCH never waits for it and it never waits for one; while this instance appends to the
// upload, the appender's copy of the row, so it does not queue behind the uploads' statements). A final upload still waiting for
// its parts (concatenation-unfinished) reports the bytes its parts hold so far.
import type { UploadSession } from '../../db/schema.js';
import { ACTIVE_STATUSES } from '../../db/status.js';
import { assertLive } from '../../store/lifecycle.js';
import type { UploadService } from '../../store/upload-service.js';
import { type TusHandler, uploadOf, uploadUrl } from './context.js';
import { isComplete, uploadHeaders } from './responses.js';

export const headUpload: TusHandler = async (deps, call) => {
  const session = await withPartsProgress(deps.service, assertLive(uploadOf(call)));
  call.res
    .set(uploadHeaders(session, (id) => uploadUrl(deps, call.req, id)))
    .set('Content-Length', contentLengthOf(session))
    .status(200)
    .end();
};

/**
 * What a GET of the upload would send: its bytes once it is an asset, nothing before. Without a
 * Content-Length Node's HTTP client (tus-js-client in Node) cannot tell that the answer ended and
 * closes the connection after every HEAD; a new connection then waits to be accepted, which under
 * load took hundreds of milliseconds (the server accepts one per turn of its event loop).
 */
function contentLengthOf(session: UploadSession): string {
  return isComplete(session) && session.assetId ? String(session.uploadLength ?? session.uploadOffset) : '0';
}

/** An unfinished final upload as far as its parts have come; never complete before it is joined. */
export async function withPartsProgress(service: UploadService, session: UploadSession): Promise<UploadSession> {
  if (session.concat !== 'final' || !ACTIVE_STATUSES.includes(session.status)) return session;
  const received = await service.partsReceived(session);
  const below = session.uploadLength === null ? received : Math.min(received, Math.max(0, session.uploadLength - 1));
  return { ...session, uploadOffset: Math.max(session.uploadOffset, below) };
}
