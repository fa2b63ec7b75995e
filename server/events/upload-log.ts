// Upload lifecycle lines (module `uploads`): created, each status change and finished at info,
// progress at debug, each with the upload id and owner. Lines written during a request also carry
// its request id.
import type { UploadSession } from '../../db/schema.js';
import type { FinalizedEvent, ProgressEvent, StatusEvent, UploadEvents } from '../../store/events.js';
import type { Logger } from '../ops/logger.js';

export function logUploadEvents(events: UploadEvents, log: Logger): () => void {
  const onCreated = (s: UploadSession) =>
    log.info(
      { upload_id: s.id, owner: s.ownerId, length: s.uploadLength, chunk_size: s.chunkSize, asset_type: s.assetType },
      'upload created',
    );
  const onProgress = (p: ProgressEvent) =>
    log.debug(
      { upload_id: p.id, owner: p.ownerId, offset: p.offset, length: p.length, chunks: p.chunks },
      'upload progress',
    );
  const onStatus = (e: StatusEvent) => {
    if (e.status === 'completed') return;
    const line = { upload_id: e.id, owner: e.ownerId, status: e.status, ...(e.error ? { error: e.error } : {}) };
    if (e.status === 'failed') log.warn(line, 'upload failed');
    else log.info(line, `upload ${e.status}`);
  };
  const onFinalized = (e: FinalizedEvent) =>
    log.info(
      {
        upload_id: e.session.id,
        owner: e.session.ownerId,
        asset_id: e.asset.id,
        size: e.asset.size,
        ms: Math.round(e.ms * 10) / 10,
      },
      'upload finished',
    );
  events.on('created', onCreated);
  events.on('progress', onProgress);
  events.on('status', onStatus);
  events.on('finalized', onFinalized);
  return () => {
    events.off('created', onCreated);
    events.off('progress', onProgress);
    events.off('status', onStatus);
    events.off('finalized', onFinalized);
  };
}
