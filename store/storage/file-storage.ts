// The local file implementation of ChunkStorage: one data file per upload in progress, in which
// chunk n is a fixed region, and assets/{owner}/{asset id}/{filename} once finished (layout.ts).
// Durability is fdatasync of the data file; promotion is a rename plus the directory syncs that
// make it survive a crash.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, type FileHandle, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { writeAllAt } from '../write/positional-write.js';
import type { ByteSource, ChunkSink, ChunkStorage, UploadShape } from './chunk-storage.js';
import { type StorageLayout, syncDirectory } from './layout.js';
import { storageError } from './storage-error.js';

const READ_BLOCK = 1024 * 1024;

export class FileChunkStorage implements ChunkStorage {
  readonly readsWholeUploads = true;

  constructor(readonly layout: StorageLayout) {}

  async create(id: string, _shape?: UploadShape): Promise<void> {
    try {
      await (await open(this.layout.uploadPath(id), 'wx')).close();
    } catch (error) {
      throw storageError(error);
    }
  }

  async openSink(id: string, durableOffset: number, _shape?: UploadShape): Promise<ChunkSink> {
    const file = this.layout.uploadPath(id);
    let handle: FileHandle;
    try {
      handle = await open(file, 'r+');
    } catch (error) {
      // an empty upload's file may be recreated; one that held acknowledged bytes may not
      if (!isNotFound(error) || durableOffset > 0) throw storageError(error);
      handle = await open(file, 'w+');
    }
    return {
      write: (bytes, at) => writeAllAt(handle, bytes, at),
      sync: () => handle.datasync(),
      close: () => handle.close(),
    };
  }

  read(id: string, start: number, end: number): AsyncIterable<Buffer> {
    return readRange(this.layout.uploadPath(id), start, end);
  }

  /** The whole data file, whatever the chunk: it holds every byte from offset 0. */
  sourceOf(id: string, _chunkStart?: number): ByteSource {
    return { path: this.layout.uploadPath(id), from: 0 };
  }

  async storedLength(id: string): Promise<number | undefined> {
    return stat(this.layout.uploadPath(id)).then(
      (s) => s.size,
      () => undefined,
    );
  }

  async remove(id: string): Promise<void> {
    try {
      await unlink(this.layout.uploadPath(id));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  assetIdFor(_sessionId: string): string {
    return randomUUID();
  }

  assetPath(ownerId: string, assetId: string, filename: string): string {
    return this.layout.assetRelativePath(ownerId, assetId, filename);
  }

  async locate(id: string, assetPath: string): Promise<'upload' | 'asset' | undefined> {
    if (await exists(this.layout.uploadPath(id))) return 'upload';
    return (await exists(this.layout.resolve(assetPath))) ? 'asset' : undefined;
  }

  /** A rename, after cutting bytes a failed request left past the length (made durable first). */
  async promote(id: string, assetPath: string, length: number): Promise<void> {
    const source = this.layout.uploadPath(id);
    const target = this.layout.resolve(assetPath);
    // a finalise that stopped after its rename has nothing left to move
    if (!(await exists(source)) && (await exists(target))) return;
    if ((await stat(source)).size > length) {
      const handle = await open(source, 'r+');
      try {
        await handle.truncate(length);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
    await mkdir(path.dirname(target), { recursive: true });
    await rename(source, target);
    // all three at once: the file system commits them together rather than one after another
    await Promise.all([
      syncDirectory(path.dirname(target)),
      syncDirectory(path.dirname(path.dirname(target))),
      syncDirectory(this.layout.uploadsDir),
    ]);
  }

  assetFile(assetPath: string): string {
    return this.layout.resolve(assetPath);
  }

  readAsset(assetPath: string, start: number, end: number): AsyncIterable<Buffer> {
    return readRange(this.layout.resolve(assetPath), start, end);
  }

  async removeAsset(assetPath: string): Promise<void> {
    await rm(path.dirname(this.layout.resolve(assetPath)), { recursive: true, force: true });
  }
}

async function* readRange(file: string, start: number, end: number): AsyncIterable<Buffer> {
  if (end <= start) return;
  const stream = createReadStream(file, { start, end: end - 1, highWaterMark: READ_BLOCK });
  for await (const block of stream) yield block as Buffer;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
