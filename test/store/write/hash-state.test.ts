// The hashing thread's side of memory: the writers' blocks are shared memory, and every block it
// hashed stays alive until that thread's own collector has run, whatever the main thread does.
// Asked to collect (the idle release does), it lets them go.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { fullCollection } from '../../../server/ops/idle-memory.js';
import { HashStates } from '../../../store/write/hash-state.js';

const MiB = 1024 * 1024;
const BLOCK = 16 * MiB;
const BLOCKS = 8;

const rss = () => process.memoryUsage().rss;

describe('HashStates', () => {
  it('hashes shared blocks exactly, and frees them once its thread has collected', async () => {
    const hashes = new HashStates();
    try {
      const hasher = await hashes.hasherAt('upload', { path: '/nonexistent', from: 0 }, 0, BLOCK * BLOCKS);
      const expected = createHash('sha256');
      const before = rss();
      for (let i = 0; i < BLOCKS; i++) {
        const block = Buffer.from(new SharedArrayBuffer(BLOCK));
        block.fill(i + 1);
        expected.update(block);
        await hasher.update(block);
      }
      expect(await hasher.chunkDigest()).to.equal(expected.digest('hex'));
      // the main thread has let go of every block; the hashing thread's messages still hold them
      fullCollection();
      const held = rss() - before;
      expect(held, 'blocks held by the hashing thread').to.be.greaterThan((BLOCKS * BLOCK) / 2);
      await hashes.collect();
      fullCollection();
      expect(rss() - before, 'blocks left after the hashing thread collected').to.be.lessThan((BLOCKS * BLOCK) / 4);
    } finally {
      await hashes.close();
    }
  });
});
