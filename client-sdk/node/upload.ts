// upload() for Node: a file path, a Buffer or a Readable, resumable across processes through a
// JSON fingerprint file (`resumeFile`, by default ~/.upload-client/resume.json).
import { DefaultHttpStack } from 'tus-js-client';
import type { Platform } from '../platform.js';
import type { UploadOptions, UploadTask } from '../types.js';
import { startUpload } from '../upload-task.js';
import { nodeBodyChecksum, nodeResendable } from './checksum.js';
import { whenConnected } from './connection.js';
import { type NodeSource, prepareNodeSource } from './source.js';
import { nodeFileReader } from './stream-source.js';
import { JsonFileUrlStorage } from './url-storage.js';

export interface NodeUploadOptions extends UploadOptions {
  /** The JSON file that remembers unfinished uploads (default ~/.upload-client/resume.json). */
  resumeFile?: string | undefined;
  /** Length of a Readable source, if known. */
  size?: number | undefined;
}

export function upload(source: NodeSource, options: NodeUploadOptions): UploadTask {
  const platform: Platform = {
    httpStack: new DefaultHttpStack({}),
    urlStorage: new JsonFileUrlStorage(options.resumeFile),
    checksum: nodeBodyChecksum,
    resendable: nodeResendable,
    fileReader: nodeFileReader,
    whenConnected,
  };
  const prepare = () =>
    prepareNodeSource(source, {
      endpoint: options.endpoint,
      filename: options.metadata?.filename,
      contentType: options.metadata?.content_type,
      size: options.size,
      fingerprint: options.fingerprint,
    });
  return startUpload(prepare, options, platform);
}
