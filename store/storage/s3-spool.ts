// The spool of object storage: the bytes of an upload's chunks that are not whole yet (a tus PATCH
// that ended inside a chunk), one local file per chunk under {spool}/{upload id}/{chunk start},
// kept until the chunk is uploaded as a part and its session has recorded it. Bounded: one chunk
// per upload being received, plus a chunk just uploaded whose record is still on its way.
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isValidUploadId, syncDirectory } from './layout.js';

export interface SpoolEntry {
  chunkStart: number;
  size: number;
}

export class Spool {
  constructor(readonly dir: string) {}

  uploadDir(id: string): string {
    if (!isValidUploadId(id)) throw new Error(`invalid upload id ${JSON.stringify(id)}`);
    return path.join(this.dir, id);
  }

  path(id: string, chunkStart: number): string {
    return path.join(this.uploadDir(id), String(chunkStart));
  }

  /** Opens (creating it if need be) the spool file of a chunk for positional writes. */
  async open(id: string, chunkStart: number): Promise<{ handle: FileHandle; created: boolean }> {
    const file = this.path(id, chunkStart);
    await mkdir(path.dirname(file), { recursive: true });
    const existed = await stat(file).then(
      () => true,
      () => false,
    );
    const handle = await open(file, constants.O_RDWR | constants.O_CREAT);
    return { handle, created: !existed };
  }

  /** Makes the creation of spool files durable (their directory entries). */
  syncUploadDir(id: string): Promise<void> {
    return syncDirectory(this.uploadDir(id));
  }

  async list(id: string): Promise<SpoolEntry[]> {
    const names = await readdir(this.uploadDir(id)).catch(() => [] as string[]);
    const entries: SpoolEntry[] = [];
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const info = await stat(path.join(this.uploadDir(id), name)).catch(() => undefined);
      if (info) entries.push({ chunkStart: Number(name), size: info.size });
    }
    return entries.sort((a, b) => a.chunkStart - b.chunkStart);
  }

  /** Bytes [start, end) of a chunk's spool file, relative to the chunk. */
  async *read(id: string, chunkStart: number, start: number, end: number): AsyncIterable<Buffer> {
    if (end <= start) return;
    const stream = createReadStream(this.path(id, chunkStart), { start, end: end - 1, highWaterMark: 1 << 20 });
    for await (const block of stream) yield block as Buffer;
  }

  async remove(id: string, chunkStart: number): Promise<void> {
    await unlink(this.path(id, chunkStart)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  /** Spool files of chunks that end at or before `offset`: their parts are recorded. */
  async removeBelow(id: string, offset: number, chunkSize: number): Promise<void> {
    for (const entry of await this.list(id)) {
      if (entry.chunkStart + chunkSize <= offset) await this.remove(id, entry.chunkStart);
    }
  }

  async removeAll(id: string): Promise<void> {
    await rm(this.uploadDir(id), { recursive: true, force: true });
  }

  /** Upload ids that have a spool directory. */
  async uploads(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter(isValidUploadId);
  }
}
