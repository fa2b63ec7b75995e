// GET {TUS_PATH}/{id}: the asset a finished upload became (Range, ETag), for its owner.
import { UploadError } from '../../store/errors.js';
import { sendAsset } from '../rest/assets.js';
import { type TusHandler, uploadOf } from './context.js';

export const downloadUpload: TusHandler = async (deps, call) => {
  const session = uploadOf(call);
  if (session.status === 'completed' && !session.assetId) {
    throw new UploadError('not_found', `the asset of upload ${session.id} was deleted`);
  }
  if (session.status !== 'completed' || !session.assetId) {
    throw new UploadError('not_found', `upload ${session.id} has no asset (it is ${session.status})`);
  }
  await sendAsset(deps.service.storage, await deps.service.getAsset(call.owner, session.assetId), call.res);
};
