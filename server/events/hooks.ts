// In-process hooks for applications that embed the server: callbacks on upload created,
// progress, finished, failed, cancelled and expired. They run after the change is committed, are
// not awaited by the upload (a slow hook does not slow it) and a hook that throws is logged.
import type { Asset, UploadSession } from '../../db/schema.js';
import type { ProgressEvent, StatusEvent, UploadEvents } from '../../store/events.js';
import type { Logger } from '../ops/logger.js';

export interface UploadHooks {
  onUploadCreated?(session: UploadSession): void | Promise<void>;
  /** Per chunk boundary and at the end of each PATCH or chunk request. */
  onUploadProgress?(progress: ProgressEvent): void | Promise<void>;
  onUploadFinished?(finished: { session: UploadSession; asset: Asset }): void | Promise<void>;
  onUploadFailed?(change: StatusEvent): void | Promise<void>;
  onUploadCancelled?(change: StatusEvent): void | Promise<void>;
  onUploadExpired?(change: StatusEvent): void | Promise<void>;
}

/** Calls `hooks` on the store's events; returns the function that detaches them. */
export function attachHooks(events: UploadEvents, hooks: UploadHooks, log: Logger): () => void {
  const call = (name: keyof UploadHooks, uploadId: string, fn: () => void | Promise<void>) => {
    try {
      Promise.resolve(fn()).catch((error: unknown) =>
        log.error({ err: error, hook: name, upload_id: uploadId }, 'hook failed'),
      );
    } catch (error) {
      log.error({ err: error, hook: name, upload_id: uploadId }, 'hook failed');
    }
  };
  const onCreated = (s: UploadSession) => {
    if (hooks.onUploadCreated) call('onUploadCreated', s.id, () => hooks.onUploadCreated?.(s));
  };
  const onProgress = (p: ProgressEvent) => {
    if (hooks.onUploadProgress) call('onUploadProgress', p.id, () => hooks.onUploadProgress?.(p));
  };
  const onFinalized = (e: { session: UploadSession; asset: Asset }) => {
    if (hooks.onUploadFinished) {
      call('onUploadFinished', e.session.id, () => hooks.onUploadFinished?.({ session: e.session, asset: e.asset }));
    }
  };
  const onStatus = (e: StatusEvent) => {
    const name =
      e.status === 'failed'
        ? 'onUploadFailed'
        : e.status === 'cancelled'
          ? 'onUploadCancelled'
          : e.status === 'expired'
            ? 'onUploadExpired'
            : undefined;
    if (name && hooks[name]) call(name, e.id, () => hooks[name]?.(e));
  };
  events.on('created', onCreated);
  events.on('progress', onProgress);
  events.on('finalized', onFinalized);
  events.on('status', onStatus);
  return () => {
    events.off('created', onCreated);
    events.off('progress', onProgress);
    events.off('finalized', onFinalized);
    events.off('status', onStatus);
  };
}
