// What one HTTP request tells the store beyond the DataStore arguments @tus/server passes: who is
// asking, the body's expected checksum, and whether a new upload is a concatenation part. The
// server runs each tus request inside `RequestContext.run`; the store reads it where it needs it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UploadSession } from '../db/schema.js';
import type { ExpectedChecksum } from './checksum.js';

export interface UploadRequest {
  /** The authenticated owner (JWT `sub`); required to create an upload. */
  ownerId?: string | undefined;
  checksum?: ExpectedChecksum | undefined;
  /** Set on a creation (POST): bytes it carries that are refused take the new upload with them. */
  creating?: boolean;
  /** Set on a POST with `Upload-Concat: partial`. */
  partial?: boolean;
  /** A session row the server has just read for this request and that may be used as is. */
  prefetched?: UploadSession | undefined;
  /** The row getUpload read under this request's lock; write() in the same request reuses it. */
  loaded?: UploadSession | undefined;
  /** Upload-Length this PATCH declares; stored only once its bytes are, so a refused PATCH changes nothing. */
  declaredLength?: number | undefined;
}

export class RequestContext {
  private readonly storage = new AsyncLocalStorage<UploadRequest>();

  run<T>(request: UploadRequest, fn: () => T): T {
    return this.storage.run(request, fn);
  }

  /** True inside `run`, i.e. while serving a tus request. */
  get active(): boolean {
    return this.storage.getStore() !== undefined;
  }

  /** This request's context; outside a request, a fresh empty one. */
  get current(): UploadRequest {
    return this.storage.getStore() ?? {};
  }
}
