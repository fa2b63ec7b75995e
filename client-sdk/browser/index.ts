// The client SDK for browsers: upload() of a File or Blob, the REST calls, downloads with the
// token, and the pieces a tus-based uploader (such as Uppy's) can reuse: the HTTP stack that adds
// the token and Upload-Checksum, and the retry policy.
export type { AssetInfo, SessionList, SessionState, SessionStatus } from '../api-types.js';
export { type TokenOptions, TokenSource } from '../auth.js';
export { type ClientErrorKind, describeBody, isUploadClientError, UploadClientError } from '../errors.js';
export { ClientHttpStack } from '../http-stack.js';
export { ASSET_ID_HEADER } from '../observations.js';
export type { Progress } from '../progress.js';
export { ProgressMeter } from '../progress.js';
export {
  type ApiOptions,
  cancelUpload,
  downloadBytes,
  getAsset,
  getSessionStatus,
  listSessions,
  uploadIdOf,
} from '../rest.js';
export type { RetryListener, RetryNotice } from '../retry.js';
export { DEFAULT_RETRY_DELAYS, isRetryableStatus, retryPolicy } from '../retry.js';
export type { UploadMetadata, UploadOptions, UploadResult, UploadTask } from '../types.js';
export { browserBodyChecksum, browserResendable } from './checksum.js';
export { downloadBlob, saveAsset } from './download.js';
export { browserPlatform, upload } from './upload.js';
