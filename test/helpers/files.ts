// Random files and digests for tests.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export async function tempDir(prefix = 'upload-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Writes `size` random bytes to a new file and returns its path. */
export async function randomFile(dir: string, size: number, name = `random-${size}.bin`): Promise<string> {
  const file = path.join(dir, name);
  const handle = await open(file, 'w');
  try {
    let left = size;
    while (left > 0) {
      const block = randomBytes(Math.min(left, 4 * 1024 * 1024));
      await handle.write(block);
      left -= block.length;
    }
  } finally {
    await handle.close();
  }
  return file;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const block of createReadStream(file)) hash.update(block as Buffer);
  return hash.digest('hex');
}
