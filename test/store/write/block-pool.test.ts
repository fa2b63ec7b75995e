// The write-block pool: blocks are reused up to what it keeps, never refused, and the blocks in
// flight across all writers are bounded, with waiters served in order.
import { expect } from 'chai';
import { BlockPool } from '../../../store/write/block-pool.js';

describe('BlockPool', () => {
  it('hands out a block whenever asked and keeps at most maxKept for reuse', () => {
    const pool = new BlockPool(1024, 2, 4);
    const blocks = [pool.take(), pool.take(), pool.take()];
    expect(blocks.every((b) => b.length === 1024)).to.equal(true);
    for (const b of blocks) pool.give(b);
    expect(pool.keptBytes).to.equal(2 * 1024);
    const again = pool.take();
    expect(blocks.slice(0, 2)).to.include(again);
  });

  it('lets maxInFlight blocks fly at once and the next writers in as slots come back, in order', async () => {
    const pool = new BlockPool(1024, 2, 2);
    await pool.startFlight();
    await pool.startFlight();
    const order: number[] = [];
    const third = pool.startFlight().then(() => order.push(3));
    const fourth = pool.startFlight().then(() => order.push(4));
    // nothing has landed: both wait
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).to.deep.equal([]);
    pool.endFlight();
    await third;
    expect(order).to.deep.equal([3]);
    pool.endFlight();
    await fourth;
    expect(order).to.deep.equal([3, 4]);
    // every slot back: the next one goes at once
    pool.endFlight();
    pool.endFlight();
    await pool.startFlight();
    await pool.startFlight();
    let fifth = false;
    void pool.startFlight().then(() => {
      fifth = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(fifth).to.equal(false);
  });
});
