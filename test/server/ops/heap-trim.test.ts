// The C heap trim: memory freed in the middle of glibc's heap, which free() alone keeps resident,
// goes back to the kernel.
import { expect } from 'chai';
import { loadHeapTrim } from '../../../server/ops/heap-trim.js';
import { fullCollection } from '../../../server/ops/idle-memory.js';
import { createLogger } from '../../../server/ops/logger.js';

const MiB = 1024 * 1024;

describe('heap trim', () => {
  it('gives the free pages of a fragmented C heap back to the kernel', async function () {
    const trim = await loadHeapTrim(createLogger('silent'));
    if (!trim) {
      // not glibc: the server has no trim to call here, and this checks nothing
      this.skip();
    }
    // 160 MiB of 64 KiB buffers from malloc, every 40th kept alive so the freed ones sit between
    // live allocations and free() cannot return them from the top of the heap
    let buffers: Buffer[] = [];
    for (let i = 0; i < 2560; i++) buffers.push(Buffer.allocUnsafeSlow(64 * 1024 + (i % 7) * 16).fill(i));
    const pinned = buffers.filter((_, i) => i % 40 === 0);
    buffers = [];
    fullCollection();
    const before = process.memoryUsage().rss;
    trim();
    const after = process.memoryUsage().rss;
    expect(pinned).to.have.length(64);
    expect(before - after, `RSS ${before / MiB} -> ${after / MiB} MiB`).to.be.greaterThan(80 * MiB);
  });
});
