// ChunkStorage: where the bytes of uploads and assets live, behind one interface, so the upload
// service (sessions, locks, hashing, durability order) is the same whatever holds the bytes:
// local files (file-storage.ts) or an object store, where chunk n is part n of a multipart upload
// (s3-storage.ts). An upload's bytes are written at offsets, chunk after chunk, made durable on
// request; a finished upload is promoted into an asset without a copy.
import type { UploadSession } from '../../db/schema.js';

/** A local file holding an upload's bytes from upload offset `from` (its byte 0), for hashing. */
export interface ByteSource {
  path: string;
  from: number;
}

/**
 * What a storage may need to know of an upload: where its chunks end and its length when declared
 * (an object store uploads a chunk as a part once it is whole), and who and what it is (an object
 * store names and labels the object when the upload begins).
 */
export interface UploadShape {
  ownerId: string;
  filename: string;
  contentType: string | null;
  chunkSize: number;
  length: number | undefined;
}

/** The shape of a session's upload; `length` when the caller knows it better than the row. */
export function uploadShape(session: UploadSession, length = session.uploadLength ?? undefined): UploadShape {
  const { ownerId, filename, contentType, chunkSize } = session;
  return { ownerId, filename, contentType, chunkSize, length };
}

/** What a storage's own sweep removed (see `sweepLeftovers`). */
export interface LeftoverReport {
  /** Multipart uploads aborted: leftovers no live session explains. */
  aborted: number;
  /** Spool directories of uploads no longer receiving, deleted. */
  spoolsRemoved: number;
}

export interface ChunkSink {
  /** Writes `bytes`, one after the other, at offset `at` of the upload; never across a chunk's end. */
  write(bytes: Buffer[], at: number): Promise<void>;
  /** Makes every byte written so far durable: after it resolves they survive a crash. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface ChunkStorage {
  /**
   * Whether `read` reaches every stored byte of an upload in progress. Object storage cannot read
   * a multipart upload's parts back before it is completed: only its incomplete chunk is readable.
   */
  readonly readsWholeUploads: boolean;
  /** Creates the empty storage of a new upload. */
  create(id: string, shape: UploadShape): Promise<void>;
  /**
   * Opens an upload for writing. `durableOffset` is what its session says is stored: an upload
   * that held acknowledged bytes and lost its storage is an error, an empty one is recreated.
   */
  openSink(id: string, durableOffset: number, shape: UploadShape): Promise<ChunkSink>;
  /**
   * Opens a sink for chunk `chunkNumber` written whole, from its first byte to its last, and
   * synced once (a REST chunk): an object store streams it straight into its part. Optional:
   * without it `openSink` serves.
   */
  openWholeChunk?(id: string, durableOffset: number, shape: UploadShape, chunkNumber: number): Promise<ChunkSink>;
  /** Bytes [start, end) of an upload in progress (see `readsWholeUploads`). */
  read(id: string, start: number, end: number): AsyncIterable<Buffer>;
  /** The local file holding the bytes of the upload's chunk that starts at `chunkStart`. */
  sourceOf(id: string, chunkStart: number): ByteSource;
  /** Bytes the upload's storage holds (undefined: it has none), for repair after a crash. */
  storedLength(id: string): Promise<number | undefined>;
  /**
   * Makes a fully received upload's bytes readable by `read` before it is joined into another
   * (tus concatenation); only storages that cannot read uploads in progress need it.
   */
  seal?(id: string, length: number): Promise<void>;
  /** Deletes an upload's bytes (an object store aborts its multipart upload); nothing to delete is fine. */
  remove(id: string): Promise<void>;

  /** The id the asset of this upload gets (an object store fixed its key when the upload began). */
  assetIdFor(sessionId: string): string;
  /** The storage path (file path or object key) an asset of this owner, id and file name gets. */
  assetPath(ownerId: string, assetId: string, filename: string): string;
  /**
   * Where a fully received upload's bytes are: still in the upload, or already in the asset (a
   * finalise that stopped after its promotion); undefined when in neither.
   */
  locate(id: string, assetPath: string): Promise<'upload' | 'asset' | undefined>;
  /**
   * Moves the upload's `length` bytes into the asset, durably; a repeat after the move does
   * nothing. Bytes stored past `length` (a request that failed after writing them) are left out.
   */
  promote(id: string, assetPath: string, length: number): Promise<void>;
  /** The local file of an asset, when it is one (hashing on the worker, sendfile downloads). */
  assetFile(assetPath: string): string | undefined;
  /** Bytes [start, end) of an asset, streamed. */
  readAsset(assetPath: string, start: number, end: number): AsyncIterable<Buffer>;
  /**
   * A short-lived URL the asset can be downloaded from directly, with these response headers, when
   * the storage offers them (S3 with S3_PRESIGNED_DOWNLOADS); undefined: stream it through.
   */
  downloadUrl?(assetPath: string, response: { contentType: string; disposition: string }): Promise<string | undefined>;
  /** Deletes an asset's bytes. */
  removeAsset(assetPath: string): Promise<void>;
  /** Rejects when a remote storage cannot be reached (readiness); local files need no check. */
  ping?(): Promise<void>;
  /**
   * Removes what this storage holds for uploads that `live` does not name, older than `olderThan`
   * (object storage: multipart uploads and spool files). Local files have the quarantine instead.
   */
  sweepLeftovers?(live: (ids: string[]) => Promise<Set<string>>, olderThan: Date): Promise<LeftoverReport>;
}
