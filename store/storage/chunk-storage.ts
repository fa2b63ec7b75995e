// ChunkStorage: where the bytes of uploads and assets live, behind one interface, so the upload
// service (sessions, locks, hashing, durability order) is the same whatever holds the bytes. The
// first implementation is the local file layout (file-storage.ts); an object store plugs in here.
// An upload's bytes are written at offsets, chunk after chunk, made durable on request, and read
// back for hashing and joining; a finished upload is promoted into an asset without a copy.

/** Bytes somewhere the hashing thread can read them. */
export interface ByteSource {
  /** A local file holding the bytes from offset 0. */
  path: string;
}

export interface ChunkSink {
  /** Writes `bytes`, one after the other, at offset `at` of the upload. */
  write(bytes: Buffer[], at: number): Promise<void>;
  /** Makes every byte written so far durable: after it resolves they survive a crash. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface ChunkStorage {
  /** Creates the empty storage of a new upload. */
  create(id: string): Promise<void>;
  /**
   * Opens an upload for writing. `durableOffset` is what its session says is stored: an upload
   * that held acknowledged bytes and lost its storage is an error, an empty one is recreated.
   */
  openSink(id: string, durableOffset: number): Promise<ChunkSink>;
  /** Bytes [start, end) of an upload in progress. */
  read(id: string, start: number, end: number): AsyncIterable<Buffer>;
  /** Where the bytes of an upload in progress can be read directly. */
  sourceOf(id: string): ByteSource;
  /** Bytes the upload's storage holds (undefined: it has none), for repair after a crash. */
  storedLength(id: string): Promise<number | undefined>;
  /** Deletes an upload's bytes; nothing to delete is fine. */
  remove(id: string): Promise<void>;

  /** The storage path an asset of this owner, id and file name gets. */
  assetPath(ownerId: string, assetId: string, filename: string): string;
  /**
   * Where a fully received upload's bytes are: still in the upload, or already in the asset (a
   * finalise that stopped after its move); undefined when in neither.
   */
  locate(id: string, assetPath: string): Promise<ByteSource | undefined>;
  /** Moves the upload's bytes into the asset, durably; a repeat after the move does nothing. */
  promote(id: string, assetPath: string): Promise<void>;
  /** The local file of an asset, for downloads. */
  assetSource(assetPath: string): ByteSource;
  /** Deletes an asset's bytes. */
  removeAsset(assetPath: string): Promise<void>;
}
