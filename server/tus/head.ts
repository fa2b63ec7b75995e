// HEAD: where an upload stands, from its row (read for the owner check; HEAD takes no lock, so a
// running PATCH never waits for it and it never waits for one).
import { assertLive } from '../../store/lifecycle.js';
import { type TusHandler, uploadOf } from './context.js';
import { uploadHeaders } from './responses.js';

export const headUpload: TusHandler = async (deps, call) => {
  const session = assertLive(uploadOf(call));
  call.res.set(uploadHeaders(session, deps.tusPath)).status(200).end();
};
