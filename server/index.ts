// The package entry: build and mount the upload server in another app, or use its pieces (the
// upload service, its ChunkStore DataStore under a plain @tus/server, the repositories, webhook
// signature checks).

export { AssetRepository } from '../db/asset-repository.js';
export { type Database, type DatabaseOptions, openDatabase } from '../db/client.js';
export type { Asset, UploadSession, UploadStatus } from '../db/schema.js';
export { SessionRepository } from '../db/session-repository.js';
export { StartRefusedError } from '../db/start-refused.js';
export { StorageUploadRepository } from '../db/storage-upload-repository.js';
export { ChunkStore } from '../store/chunk-store.js';
export { UploadError } from '../store/errors.js';
export type { FinalizedEvent, ProgressEvent, StatusEvent, UploadEventMap, UploadEvents } from '../store/events.js';
export { MemoryLocker } from '../store/lock/memory-locker.js';
export { PgLocker } from '../store/lock/pg-locker.js';
export type { UploadLocker } from '../store/lock/upload-locker.js';
export type {
  ByteSource,
  ChunkSink,
  ChunkStorage,
  LeftoverReport,
  UploadShape,
} from '../store/storage/chunk-storage.js';
export { FileChunkStorage } from '../store/storage/file-storage.js';
export { StorageLayout } from '../store/storage/layout.js';
export { makeS3Client, type S3Settings } from '../store/storage/s3-settings.js';
export { S3ChunkStorage } from '../store/storage/s3-storage.js';
export { UploadPolicy } from '../store/upload-policy.js';
export { UploadService, type UploadServiceOptions } from '../store/upload-service.js';
export { type AppDeps, createApp } from './app.js';
export { type AuthConfig, type Config, ConfigError, loadConfig, type WebhookConfig } from './config/config.js';
export { createServer, type ServerConfig, type UploadServer } from './create-server.js';
export type { UploadHooks } from './events/hooks.js';
export { WEBHOOK_TYPES, type WebhookType } from './events/webhooks/payloads.js';
export {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
} from './events/webhooks/signature.js';
export { LOG_LEVELS, LOG_MODULES, type LogLevel, type LogModule } from './ops/log-levels.js';
export { createLogger, type Logger, type LoggerOptions } from './ops/logger.js';
export { type RunningServer, type StartOptions, startServer } from './start.js';
