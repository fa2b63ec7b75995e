// Write blocks for the chunk writers. Request bytes are copied into a block, which is then written
// to the data file and hashed on the hashing thread at the same time, straight from the same memory
// (blocks live in SharedArrayBuffers, so handing one to the worker copies nothing). Once both are
// done the block comes back here and is reused, so a steady upload allocates nothing per byte: no
// garbage for the collector, and a resident size that does not creep with the bytes received.
// The pool bounds what it keeps, never what it hands out: when none is free a new block is made,
// so a burst of uploads (or slow clients sitting on half-filled blocks) never waits on the pool.

export class BlockPool {
  private readonly free: Buffer[] = [];

  /**
   * @param blockSize bytes per block (the size of each positional write)
   * @param maxKept free blocks kept for reuse; blocks given back beyond that are left to the GC
   */
  constructor(
    readonly blockSize: number,
    private readonly maxKept: number,
  ) {
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`block size ${blockSize}`);
  }

  take(): Buffer {
    return this.free.pop() ?? Buffer.from(new SharedArrayBuffer(this.blockSize));
  }

  /** Returns a block nobody reads or writes any more. */
  give(block: Buffer): void {
    if (this.free.length < this.maxKept && block.length === this.blockSize) this.free.push(block);
  }

  /** Drops every free block (they are collected like any other buffer). */
  clear(): void {
    this.free.length = 0;
  }

  /** Bytes held by free blocks (for metrics and tests). */
  get keptBytes(): number {
    return this.free.length * this.blockSize;
  }
}
