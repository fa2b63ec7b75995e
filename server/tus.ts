// The tus endpoint: @tus/server over our ChunkStore, with the hooks that tie it to owners and
// assets. Creation stamps the owner; the finish hook finalises the upload into an asset and tells
// the client its id in Upload-Asset-Id.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@tus/server';
import type { Lock, Locker } from '@tus/utils';
import type { ChunkStore } from '../store/chunk-store.js';
import { UploadError } from '../store/errors.js';
import { principalOf } from './auth.js';
import { toUploadError } from './error-handler.js';
import type { Logger } from './logger.js';
import type { UploadPolicy } from './upload-policy.js';

export interface TusOptions {
  path: string;
  store: ChunkStore;
  policy: UploadPolicy;
  /** Serialises writers of one upload: in-process, or in PostgreSQL across instances. */
  locker: Locker;
  log: Logger;
}

export const ASSET_ID_HEADER = 'Upload-Asset-Id';

const noLock: Lock = { lock: async () => {}, unlock: async () => {} };

type WebRequest = Parameters<NonNullable<ConstructorParameters<typeof Server>[0]['onUploadCreate']>>[0];

function nodeRequest(req: WebRequest): IncomingMessage {
  const node = (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req;
  if (!node) throw new UploadError('internal_error', 'tus request without its Node request');
  return node;
}

/** Finalises a fully received upload; the response headers that tell the client its asset. */
export async function finishUpload(store: ChunkStore, id: string): Promise<Record<string, string>> {
  const asset = await store.finish(id);
  return asset ? { [ASSET_ID_HEADER]: asset.id } : {};
}

/** A stable name for @tus/server's own errors, for metrics. */
function tusErrorType(error: Error | { status_code: number; body: string }): string {
  const status = 'status_code' in error ? error.status_code : 500;
  const names: Record<number, string> = {
    400: 'validation_error',
    404: 'not_found',
    409: 'offset_conflict',
    410: 'gone',
    413: 'payload_too_large',
  };
  return names[status] ?? `http_${status}`;
}

export function createTusServer(options: TusOptions): Server {
  const { store, log } = options;
  const unlocked: Locker = { newLock: () => noLock };
  return new Server({
    path: options.path,
    datastore: store,
    relativeLocation: true,
    // creation checks the declared length against the asset type in onUploadCreate (with a clearer
    // message); PATCH is served by tus-patch.ts, which bounds bodies by the upload's asset type
    maxSize: () => options.policy.largestLimit,
    // HEAD reads the durable offset from the database and POST names a new id: neither needs
    // the lock, and taking it would ask a running PATCH to stop (PATCH takes it in tus-patch.ts)
    locker: (req) => (req.method === 'DELETE' ? options.locker : unlocked),
    allowedHeaders: ['X-Request-Id', 'Upload-Checksum'],
    exposedHeaders: [ASSET_ID_HEADER, 'Upload-Expires', 'X-Request-Id', 'Tus-Checksum-Algorithm'],
    async onUploadCreate(req, upload) {
      const owner = principalOf(nodeRequest(req)).sub;
      if (store.requests.current.partial) {
        // a part's asset type is the final upload's; it is checked when the parts are joined
        if (upload.size !== undefined && upload.size > options.policy.largestLimit) {
          options.policy.assertSize('other', upload.size);
        }
      } else {
        await options.policy.assertMayCreate(owner, upload.metadata?.asset_type ?? 'other', upload.size);
      }
      return {};
    },
    async onUploadFinish(_req, upload) {
      return { headers: await finishUpload(store, upload.id) };
    },
    onResponseError(req, error) {
      const known = toUploadError(error);
      const node = (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req;
      if (node) node.errorType = known?.type ?? tusErrorType(error);
      if (known) {
        if (known.status >= 500) log.error({ err: error }, 'tus request failed');
        // the mapping carries no headers (Retry-After on 429): set them on the response directly
        const res = (req as { runtime?: { node?: { res?: ServerResponse } } }).runtime?.node?.res;
        for (const [name, value] of Object.entries(known.headers)) res?.setHeader(name, value);
        return { status_code: known.status, body: known.body };
      }
      if ('status_code' in error && typeof error.status_code === 'number') {
        // a lock we could not get in time is a retryable conflict, not a server fault
        if (error.status_code === 500 && /lock/i.test(error.body)) {
          if (node) node.errorType = 'locked';
          return { status_code: 423, body: 'the upload is busy with another request; retry shortly\n' };
        }
        return undefined;
      }
      log.error({ err: error }, 'tus request failed');
      return { status_code: 500, body: 'internal error\n' };
    },
  });
}
