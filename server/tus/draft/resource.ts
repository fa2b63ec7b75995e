// Offset retrieval (HEAD), cancellation (DELETE) and OPTIONS for the draft, on the same sessions
// as tus: HEAD reads the row (no lock), DELETE is tus termination, OPTIONS adds the draft's limits
// and Accept-Patch to the tus answer.
import type { Request } from 'express';
import { UploadError } from '../../../store/errors.js';
import { assertLive } from '../../../store/lifecycle.js';
import { uploadOf } from '../context.js';
import type { TusCapabilities } from '../extensions.js';
import { withPartsProgress } from '../head.js';
import { optionsHeaders } from '../options.js';
import type { DraftHandler } from './context.js';
import { limitHeader } from './fields.js';
import { PARTIAL_UPLOAD_TYPE, stateHeaders } from './state.js';
import type { DraftVersion } from './versions.js';

export const retrieveDraftOffset: DraftHandler = async (deps, call) => {
  refuseUploadFields(call.req, call.version, 'an offset retrieval');
  const session = await withPartsProgress(deps.service, assertLive(uploadOf(call)));
  const asset =
    session.status === 'completed' && session.assetId
      ? await deps.service.getAsset(call.owner, session.assetId).catch(() => undefined)
      : undefined;
  call.res
    .set({ ...stateHeaders(call.version, deps.service, session, asset), 'Cache-Control': 'no-store' })
    .status(204)
    .end();
};

export const cancelDraftUpload: DraftHandler = async (deps, call) => {
  refuseUploadFields(call.req, call.version, 'a cancellation');
  await deps.service.terminate(call.owner, uploadOf(call).id);
  call.res.status(204).end();
};

export function draftOptions(capabilities: Omit<TusCapabilities, 'expires'>): DraftHandler {
  return async (deps, { res, version }) => {
    res
      .set({
        ...optionsHeaders(deps, capabilities),
        'Upload-Draft-Interop-Version': String(version.interop),
        ...limitHeader(version, { maxSize: deps.service.policy.largestLimit }),
        ...(version.partialUploadType ? { 'Accept-Patch': PARTIAL_UPLOAD_TYPE } : {}),
      })
      .status(204)
      .end();
  };
}

/** Drafts -01 to -05: HEAD and DELETE must not carry the fields of an upload (400). */
function refuseUploadFields(req: Request, version: DraftVersion, what: string): void {
  if (!version.strictRetrieval) return;
  for (const name of ['upload-offset', version.completeField.toLowerCase(), 'upload-length']) {
    if (req.headers[name] !== undefined) {
      throw new UploadError('validation_error', `${what} carries no ${name} header`);
    }
  }
}
