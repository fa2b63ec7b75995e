// Write blocks for the chunk writers. Request bytes are copied into a block, which is then written
// to the data file and hashed on the hashing thread at the same time, straight from the same memory
// (blocks live in SharedArrayBuffers, so handing one to the worker copies nothing). Once both are
// done the block comes back here and is reused, so a steady upload allocates nothing per byte: no
// garbage for the collector, and a resident size that does not creep with the bytes received.
// The pool bounds what it keeps, never what it hands out: when none is free a new block is made,
// so a burst of uploads (or slow clients sitting on half-filled blocks) never waits on the pool.
// What it does bound is the bytes being written and hashed, across all writers: the disk and the
// hashing thread serve them one after another anyway, so with many uploads at once more in flight
// only holds memory (measured here, 64 concurrent uploads of 16 MiB: peak RSS 224 MB with each
// writer keeping up to three in flight, 196 MB with 8 MiB in flight in all, and 0.93x -> 1.01x
// the throughput of stock @tus/server; 4 MiB saved 6 MB more but lost throughput). A writer waits
// for room before handing a full block over, holding that one block meanwhile.
//
// Blocks come in two sizes. Every block costs a positional write and two messages to the hashing
// thread, whatever its size: with 256 KiB blocks that overhead was about 0.45 CPU s per GiB of one
// large upload (1 MiB blocks: 2.9-3.2 s/GiB in all, 256 KiB: 3.45-3.8). So a writer whose body has
// proved long asks for large blocks, and gets them while few are out (being filled, written or
// hashed); past that budget it gets small ones, so many uploads at once hold no more memory than
// before. A short body (1 MiB PATCHes, as Uppy users configure) keeps small blocks, whose writes
// and hashing start while the rest of the body is still arriving.

export interface BlockPoolOptions {
  /** Bytes of a small block. */
  blockSize: number;
  /** Bytes of a large block (a multiple of `blockSize`); equal to it for one size only. */
  largeBlockSize: number;
  /** Large blocks out at once, at most (bytes). */
  largeBudget: number;
  /**
   * Free small blocks kept for reuse, at most (bytes); blocks given back beyond that are left to the
   * GC. Free large blocks are kept up to `largeBudget`, apart, so that small ones left by many
   * uploads never crowd them out: a large block dropped is a new SharedArrayBuffer for the next
   * writer, and those are freed only when V8 gets round to collecting them (measured here: one
   * 1 GiB upload right after a burst of small ones took the process to 670 MB instead of 120).
   */
  maxKeptBytes: number;
  /** Bytes being written and hashed at once across all writers. */
  maxInFlightBytes: number;
}

export class BlockPool {
  readonly blockSize: number;
  private readonly options: BlockPoolOptions;
  /** Free blocks by size. */
  private readonly free = new Map<number, Buffer[]>();
  private largeOut = 0;
  private inFlight = 0;
  /** Writers waiting for room, first come first served. */
  private readonly waiting: { bytes: number; admit(): void }[] = [];

  constructor(options: BlockPoolOptions) {
    const { blockSize, largeBlockSize, maxInFlightBytes } = options;
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`block size ${blockSize}`);
    if (!Number.isInteger(largeBlockSize) || largeBlockSize % blockSize !== 0) {
      throw new RangeError(`large block size ${largeBlockSize} is not a multiple of ${blockSize}`);
    }
    if (!(maxInFlightBytes >= largeBlockSize)) throw new RangeError(`bytes in flight ${maxInFlightBytes}`);
    this.blockSize = blockSize;
    this.options = options;
  }

  /**
   * A block to fill: a large one when asked for and the budget allows, else a small one. Give it
   * back when done.
   */
  take(preferLarge = false): Buffer {
    const { blockSize, largeBlockSize, largeBudget } = this.options;
    const large = preferLarge && largeBlockSize > blockSize && this.largeOut + largeBlockSize <= largeBudget;
    const size = large ? largeBlockSize : blockSize;
    if (large) this.largeOut += size;
    return this.free.get(size)?.pop() ?? Buffer.from(new SharedArrayBuffer(size));
  }

  /** Returns a block taken from this pool that nobody reads or writes any more. */
  give(block: Buffer): void {
    const { blockSize, largeBlockSize, largeBudget, maxKeptBytes } = this.options;
    const size = block.length;
    // only whole blocks of this pool's making (a stray buffer must not upset the counts)
    if (!(block.buffer instanceof SharedArrayBuffer) || block.buffer.byteLength !== size) return;
    if (size !== blockSize && size !== largeBlockSize) return;
    const large = size === largeBlockSize && size > blockSize;
    if (large) this.largeOut -= size;
    const list = this.free.get(size) ?? [];
    if ((list.length + 1) * size > (large ? largeBudget : maxKeptBytes)) return;
    list.push(block);
    this.free.set(size, list);
  }

  /** Resolves once `bytes` may be handed over for writing and hashing; pair with `endFlight(bytes)`. */
  async startFlight(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.inFlight += bytes;
      return;
    }
    await new Promise<void>((admit) => this.waiting.push({ bytes, admit }));
  }

  /** `bytes` handed over have been written and hashed (or failed). */
  endFlight(bytes: number): void {
    this.inFlight -= bytes;
    // in order: a large block at the head is not overtaken by small ones behind it
    for (let next = this.waiting[0]; next && this.fits(next.bytes); next = this.waiting[0]) {
      this.waiting.shift();
      this.inFlight += next.bytes;
      next.admit();
    }
  }

  /** Drops every free block (they are collected like any other buffer). */
  clear(): void {
    this.free.clear();
  }

  /** Bytes held by free blocks (for metrics and tests). */
  get keptBytes(): number {
    let bytes = 0;
    for (const [size, list] of this.free) bytes += size * list.length;
    return bytes;
  }

  /** Bytes of large blocks handed out and not given back (for tests). */
  get largeBytesOut(): number {
    return this.largeOut;
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.options.maxInFlightBytes;
  }
}

const DEFAULT_WRITE_BLOCK = 256 * 1024;
const LARGE_BLOCKS_PER_SMALL = 4;
// Large blocks out at once: enough for a few fast uploads; many at once share small ones.
const LARGE_BLOCK_BYTES = 16 * 1024 * 1024;
// Free write blocks kept for reuse: enough for a few dozen uploads at full speed.
const KEPT_BLOCK_BYTES = 16 * 1024 * 1024;
// Bytes being written and hashed at once, across all uploads.
const IN_FLIGHT_BLOCK_BYTES = 8 * 1024 * 1024;

/** The pool every upload's writes share: small blocks of `blockSize` bytes (default 256 KiB), large ones 4 times that. */
export function writeBlockPool(blockSize = DEFAULT_WRITE_BLOCK): BlockPool {
  const largeBlockSize = blockSize * LARGE_BLOCKS_PER_SMALL;
  return new BlockPool({
    blockSize,
    largeBlockSize,
    largeBudget: Math.max(largeBlockSize, LARGE_BLOCK_BYTES),
    maxKeptBytes: Math.max(largeBlockSize, KEPT_BLOCK_BYTES),
    maxInFlightBytes: Math.max(2 * largeBlockSize, IN_FLIGHT_BLOCK_BYTES),
  });
}
