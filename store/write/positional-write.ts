// Writes a list of buffers at a position of a file, all of them, however many writev calls it takes.
import type { FileHandle } from 'node:fs/promises';

export async function writeAllAt(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let at = position;
  let queue = buffers;
  while (queue.length > 0) {
    const { bytesWritten } = await file.writev(queue, at);
    at += bytesWritten;
    queue = dropBytes(queue, bytesWritten);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let left = count;
  const out: Buffer[] = [];
  for (const buffer of buffers) {
    if (left >= buffer.length) {
      left -= buffer.length;
      continue;
    }
    out.push(left > 0 ? buffer.subarray(left) : buffer);
    left = 0;
  }
  return out;
}
