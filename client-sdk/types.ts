// The options and results of upload(), shared by the Node and browser entry points.
import type { TokenOptions } from './auth.js';
import type { Progress } from './progress.js';
import type { RetryListener } from './retry.js';

/** Upload-Metadata: the keys the server reads, plus any others of the caller's (kept on the session). */
export interface UploadMetadata {
  filename?: string | undefined;
  /** model, texture, audio, video, image or other (default); each has its own size limit. */
  asset_type?: string | undefined;
  /** The MIME type the asset is served with. */
  content_type?: string | undefined;
  /** The whole file's sha256 in hex, if the caller knows it: the server refuses to finalise on a mismatch. */
  sha256?: string | undefined;
  [key: string]: string | undefined;
}

export interface UploadOptions extends TokenOptions {
  /** The tus endpoint, e.g. http://localhost:1080/files. */
  endpoint: string;
  /** The server's base URL for the REST calls made after the upload (default: the endpoint's origin). */
  apiUrl?: string | undefined;
  metadata?: UploadMetadata | undefined;
  /**
   * Bytes per request (default 10 MiB). A source no larger than this goes in the creating request
   * itself (creation-with-upload); a larger one in requests of this size.
   */
  chunkSize?: number | undefined;
  /** Upload this many parts at once and join them on the server (default 1). Needs a source of known size. */
  parallelUploads?: number | undefined;
  /** Send Upload-Checksum (sha256) with every request that carries bytes (default true). */
  checksum?: boolean | undefined;
  onProgress?: ((progress: Progress) => void) | undefined;
  /**
   * Stops the upload, keeping what the server has, and rejects with kind 'aborted'; the error's
   * `resumable` says whether the same call continues it (or starts over).
   */
  signal?: AbortSignal | undefined;
  /** Delays in ms before each retry (default about a minute of doubling delays); [] turns retries off. */
  retryDelays?: readonly number[] | undefined;
  /** Told before each retry after no answer or a 5xx, e.g. to say "cannot connect to ..., retrying". */
  onRetry?: RetryListener | undefined;
  /** Look for an earlier, unfinished upload of the same source and continue it (default true). */
  resume?: boolean | undefined;
  /**
   * A stable name for the source, for resuming sources that have none of their own (streams, Blobs
   * without a name). Files and buffers get one from their path and metadata or their content.
   */
  fingerprint?: string | undefined;
}

export interface UploadResult {
  /** The asset the upload became. */
  assetId: string;
  /** Hex sha256 of the whole asset, as the server computed it. */
  sha256: string;
  size: number;
  /** The tus upload's URL. */
  url: string;
  /** The tus upload id (the session id of the REST API). */
  uploadId: string;
  /** Bytes the server already had when this call started (0 for a fresh upload). */
  resumedFrom: number;
}

export interface UploadControls {
  /** Stops sending; the promise stays pending until resume() or cancel(). */
  pause(): Promise<void>;
  resume(): void;
  /** Stops and terminates the upload on the server; the promise rejects with kind 'cancelled'. */
  cancel(): Promise<void>;
  /** The upload URL once the server has created the upload. */
  readonly url: string | null;
}

/** The running upload: await it for the result, or pause, resume and cancel it. */
export type UploadTask = Promise<UploadResult> & UploadControls;
