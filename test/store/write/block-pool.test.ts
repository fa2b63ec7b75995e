// The write-block pool: blocks are reused up to what it keeps, never refused; large blocks go out
// only within their budget; and the bytes in flight across all writers are bounded, with waiters
// served in order.
import { expect } from 'chai';
import { BlockPool, type BlockPoolOptions } from '../../../store/write/block-pool.js';

const oneSize = (over: Partial<BlockPoolOptions> = {}): BlockPoolOptions => ({
  blockSize: 1024,
  largeBlockSize: 1024,
  largeBudget: 0,
  maxKeptBytes: 2 * 1024,
  maxInFlightBytes: 4 * 1024,
  ...over,
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('BlockPool', () => {
  it('hands out a block whenever asked and keeps at most maxKeptBytes for reuse', () => {
    const pool = new BlockPool(oneSize());
    const blocks = [pool.take(), pool.take(), pool.take()];
    expect(blocks.every((b) => b.length === 1024)).to.equal(true);
    for (const b of blocks) pool.give(b);
    expect(pool.keptBytes).to.equal(2 * 1024);
    const again = pool.take();
    expect(blocks.slice(0, 2)).to.include(again);
    expect(pool.keptBytes).to.equal(1024);
  });

  it('hands out large blocks when asked while their budget allows, then small ones, and large again once one is back', () => {
    const pool = new BlockPool(oneSize({ largeBlockSize: 4096, largeBudget: 2 * 4096, maxKeptBytes: 16 * 1024 }));
    expect(pool.take().length).to.equal(1024);
    const first = pool.take(true);
    const second = pool.take(true);
    const third = pool.take(true);
    expect([first.length, second.length, third.length]).to.deep.equal([4096, 4096, 1024]);
    expect(pool.largeBytesOut).to.equal(2 * 4096);
    pool.give(first);
    expect(pool.largeBytesOut).to.equal(4096);
    const fourth = pool.take(true);
    expect(fourth).to.equal(first);
    // a buffer that is not one of the pool's blocks changes nothing
    pool.give(Buffer.alloc(4096).subarray(0, 1024));
    pool.give(Buffer.alloc(4096));
    expect(pool.largeBytesOut).to.equal(2 * 4096);
    expect(pool.keptBytes).to.equal(0);
  });

  it('keeps large blocks for reuse apart from small ones, so many small ones do not crowd them out', () => {
    const pool = new BlockPool(oneSize({ largeBlockSize: 4096, largeBudget: 2 * 4096, maxKeptBytes: 2 * 1024 }));
    const small = [pool.take(), pool.take(), pool.take()];
    const large = pool.take(true);
    for (const block of small) pool.give(block);
    expect(pool.keptBytes).to.equal(2 * 1024);
    pool.give(large);
    expect(pool.keptBytes).to.equal(2 * 1024 + 4096);
    expect(pool.take(true)).to.equal(large);
  });

  it('lets maxInFlightBytes fly at once and the next writers in as bytes land, in order', async () => {
    const pool = new BlockPool(oneSize({ maxInFlightBytes: 2 * 1024 }));
    await pool.startFlight(1024);
    await pool.startFlight(1024);
    const order: number[] = [];
    const third = pool.startFlight(1024).then(() => order.push(3));
    const fourth = pool.startFlight(1024).then(() => order.push(4));
    // nothing has landed: both wait
    await turn();
    expect(order).to.deep.equal([]);
    pool.endFlight(1024);
    await third;
    expect(order).to.deep.equal([3]);
    pool.endFlight(1024);
    await fourth;
    expect(order).to.deep.equal([3, 4]);
    // every byte back: the next ones go at once
    pool.endFlight(1024);
    pool.endFlight(1024);
    await pool.startFlight(1024);
    await pool.startFlight(1024);
    let fifth = false;
    void pool.startFlight(1024).then(() => {
      fifth = true;
    });
    await turn();
    expect(fifth).to.equal(false);
  });

  it('does not let small blocks overtake a large one waiting for room', async () => {
    const pool = new BlockPool(oneSize({ largeBlockSize: 2048, largeBudget: 2048, maxInFlightBytes: 2048 }));
    await pool.startFlight(1024);
    const order: string[] = [];
    const large = pool.startFlight(2048).then(() => order.push('large'));
    const small = pool.startFlight(1024).then(() => order.push('small'));
    await turn();
    expect(order).to.deep.equal([]);
    pool.endFlight(1024);
    await large;
    await turn();
    expect(order).to.deep.equal(['large']);
    pool.endFlight(2048);
    await small;
    expect(order).to.deep.equal(['large', 'small']);
  });
});
