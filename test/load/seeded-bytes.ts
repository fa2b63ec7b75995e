// Deterministic pseudo-random upload bytes for the load workers: an AES-CTR keystream from a seed,
// hashed as it is read, so no copy is kept in memory or on disk.
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** A keystream of `size` bytes from `seed`, read in 1 MiB pieces; `digest()` once it has ended. */
export class SeededBytes extends Readable {
  private readonly cipher;
  private readonly hash = createHash('sha256');
  private left: number;

  constructor(
    seed: string,
    readonly size: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    const key = createHash('sha256').update(seed).digest();
    this.cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
    this.left = size;
  }

  override _read(): void {
    if (this.left === 0) {
      this.push(null);
      return;
    }
    const piece = this.cipher.update(Buffer.alloc(Math.min(this.left, 1024 * 1024)));
    this.left -= piece.length;
    this.hash.update(piece);
    this.push(piece);
  }

  /** Everything at once (for small uploads and PATCH pieces). */
  static buffer(seed: string, size: number): { bytes: Buffer; sha256: string } {
    const key = createHash('sha256').update(seed).digest();
    const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
    const bytes = cipher.update(Buffer.alloc(size));
    return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
