// The client SDK for Node: upload() and the REST calls. Browsers import browser/index.ts.
export type { AssetInfo, SessionList, SessionState, SessionStatus } from './api-types.js';
export type { TokenOptions } from './auth.js';
export { type ClientErrorKind, isUploadClientError, UploadClientError } from './errors.js';
export { type DownloadOptions, type DownloadResult, downloadToFile, downloadToStream } from './node/download.js';
export { type NodeUploadOptions, upload } from './node/upload.js';
export { defaultResumeFile, JsonFileUrlStorage } from './node/url-storage.js';
export type { Progress } from './progress.js';
export {
  type ApiOptions,
  cancelUpload,
  downloadBytes,
  getAsset,
  getSessionStatus,
  type ListOptions,
  listSessions,
  uploadIdOf,
} from './rest.js';
export type { RetryListener, RetryNotice } from './retry.js';
export { DEFAULT_CHUNK_SIZE } from './tus-options.js';
export type { UploadMetadata, UploadOptions, UploadResult, UploadTask } from './types.js';
