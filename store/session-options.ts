// What a client may ask of a new upload through its metadata, checked and normalised once.

import { randomBytes } from 'node:crypto';
import type { NewUploadSession, UploadMetadata } from '../db/schema.js';
import { clampChunkSize, totalChunks } from './chunking.js';
import { UploadError } from './errors.js';
import { storedMediaType } from './media-type.js';
import { safeFilename } from './storage/layout.js';

export interface SessionOptions {
  filename: string;
  contentType: string | null;
  assetType: string;
  chunkSize: number;
}

/**
 * Largest metadata of an upload, measured as its tus Upload-Metadata header: every HEAD sends it
 * back, and clients refuse response headers past 16 KiB in all.
 */
export const MAX_METADATA_BYTES = 8 * 1024;

/** Length of `key base64(value)` pairs joined by commas, as tus sends metadata. */
export function encodedMetadataLength(metadata: UploadMetadata): number {
  let total = -1;
  for (const [key, value] of Object.entries(metadata)) {
    total += 1 + Buffer.byteLength(key) + (value === null ? 0 : 1 + 4 * Math.ceil(Buffer.byteLength(value) / 3));
  }
  return Math.max(0, total);
}

const ASSET_TYPE = /^[a-z0-9_-]{1,32}$/;

/**
 * Reads filename (tus-js-client and Uppy send `filename` and `name`), content type (`filetype`,
 * `content_type` or `type`), `asset_type` and `chunk_size` (clamped to [5, 20] MiB).
 */
export function sessionOptionsFrom(metadata: UploadMetadata, defaultChunkSize: number): SessionOptions {
  const size = encodedMetadataLength(metadata);
  if (size > MAX_METADATA_BYTES) {
    throw new UploadError(
      'validation_error',
      `metadata takes ${size} bytes as tus Upload-Metadata; at most ${MAX_METADATA_BYTES} are accepted`,
    );
  }
  const filename = safeFilename(metadata.filename ?? metadata.name ?? null);
  const rawType = metadata.filetype ?? metadata.content_type ?? metadata.type ?? null;
  // not a media type: kept as application/octet-stream, never as text a response header cannot carry
  const contentType = storedMediaType(rawType);

  const assetType = metadata.asset_type ?? 'other';
  if (!ASSET_TYPE.test(assetType)) {
    throw new UploadError(
      'validation_error',
      `metadata asset_type ${JSON.stringify(assetType.slice(0, 40))} is not valid: use 1-32 of a-z, 0-9, _ and -`,
    );
  }

  let chunkSize = defaultChunkSize;
  const rawChunk = metadata.chunk_size;
  if (rawChunk !== undefined && rawChunk !== null) {
    if (!/^\d{1,15}$/.test(rawChunk) || Number(rawChunk) <= 0) {
      throw new UploadError(
        'validation_error',
        `metadata chunk_size ${JSON.stringify(rawChunk.slice(0, 40))} is not a positive whole number of bytes`,
      );
    }
    chunkSize = clampChunkSize(Number(rawChunk));
  }
  return { filename, contentType, assetType, chunkSize };
}

export interface NewUpload {
  length: number | undefined;
  metadata: UploadMetadata;
  concat?: 'partial' | 'final';
  parts?: string[];
}

/** The row of a new upload: a fresh random id, and what its metadata asks for, checked. */
export function newSessionRow(
  ownerId: string,
  input: NewUpload,
  defaultChunkSize: number,
  expiresAt: Date,
): NewUploadSession & { id: string; assetType: string } {
  const opts = sessionOptionsFrom(input.metadata, defaultChunkSize);
  return {
    id: randomBytes(16).toString('hex'),
    ownerId,
    filename: opts.filename,
    contentType: opts.contentType,
    assetType: opts.assetType,
    metadata: input.metadata,
    uploadLength: input.length ?? null,
    chunkSize: opts.chunkSize,
    totalChunks: input.length === undefined ? null : totalChunks(input.length, opts.chunkSize),
    concat: input.concat ?? null,
    parts: input.parts ?? null,
    expiresAt,
  };
}
