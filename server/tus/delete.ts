// DELETE (termination): cancels an unfinished upload and deletes its bytes, under the upload's
// lock (a running PATCH is asked to stop first).
import { type TusHandler, uploadOf } from './context.js';
import { TUS_VERSION } from './headers.js';

export const terminateUpload: TusHandler = async (deps, call) => {
  await deps.service.terminate(call.owner, uploadOf(call).id);
  call.res.set('Tus-Resumable', TUS_VERSION).status(204).end();
};
