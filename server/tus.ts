// The tus endpoint: @tus/server over our ChunkStore, with the hooks that tie it to owners and
// assets. Creation stamps the owner; the finish hook finalises the upload into an asset and tells
// the client its id in Upload-Asset-Id.
import type { IncomingMessage } from 'node:http';
import { MemoryLocker, Server } from '@tus/server';
import type { Lock, Locker } from '@tus/utils';
import type { SessionRepository } from '../db/session-repository.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { OWNER_METADATA_KEY } from '../store/chunk-store.js';
import { isUploadError, UploadError } from '../store/errors.js';
import { principalOf } from './auth.js';
import type { Logger } from './logger.js';
import type { UploadPolicy } from './upload-policy.js';

export interface TusOptions {
  path: string;
  store: ChunkStore;
  sessions: SessionRepository;
  policy: UploadPolicy;
  log: Logger;
}

export const ASSET_ID_HEADER = 'Upload-Asset-Id';

/** Reads a HEAD or GET from the database without queuing behind (and cancelling) a running PATCH. */
const noLock: Lock = { lock: async () => {}, unlock: async () => {} };

type WebRequest = Parameters<NonNullable<ConstructorParameters<typeof Server>[0]['onUploadCreate']>>[0];

function nodeRequest(req: WebRequest): IncomingMessage {
  const node = (req as { runtime?: { node?: { req?: IncomingMessage } } }).runtime?.node?.req;
  if (!node) throw new UploadError('internal_error', 'tus request without its Node request');
  return node;
}

export function createTusServer(options: TusOptions): Server {
  const { store, log } = options;
  const memoryLocker = new MemoryLocker();
  const readOnly: Locker = { newLock: () => noLock };
  return new Server({
    path: options.path,
    datastore: store,
    relativeLocation: true,
    // creation checks the declared length against the asset type in onUploadCreate (with a clearer
    // message); this bounds what a deferred-length upload may grow to while bytes arrive
    async maxSize(req, id) {
      if (req.method !== 'PATCH' || !id) return options.policy.largestLimit;
      const session = await options.sessions.find(id);
      return session ? options.policy.limitFor(session.assetType) : options.policy.largestLimit;
    },
    locker: (req) => (req.method === 'HEAD' || req.method === 'GET' ? readOnly : memoryLocker),
    allowedHeaders: ['X-Request-Id', 'Upload-Checksum'],
    exposedHeaders: [ASSET_ID_HEADER, 'Upload-Expires', 'X-Request-Id'],
    async onUploadCreate(req, upload) {
      const owner = principalOf(nodeRequest(req)).sub;
      await options.policy.assertMayCreate(owner, upload.metadata?.asset_type ?? 'other', upload.size);
      return { metadata: { ...(upload.metadata ?? {}), [OWNER_METADATA_KEY]: owner } };
    },
    async onUploadFinish(_req, upload) {
      const asset = await store.finalize(upload.id);
      log.info(
        { upload_id: upload.id, asset_id: asset.id, owner: asset.ownerId, size: asset.size },
        'upload finalised',
      );
      return { headers: { [ASSET_ID_HEADER]: asset.id } };
    },
    onResponseError(_req, error) {
      if (isUploadError(error)) return { status_code: error.status, body: error.body };
      if ('status_code' in error && typeof error.status_code === 'number') {
        // a lock we could not get in time is a retryable conflict, not a server fault
        if (error.status_code === 500 && /lock/i.test(error.body)) {
          return { status_code: 423, body: 'the upload is busy with another request; retry shortly\n' };
        }
        return undefined;
      }
      log.error({ err: error }, 'tus request failed');
      return { status_code: 500, body: 'internal error\n' };
    },
  });
}
