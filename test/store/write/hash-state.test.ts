// The hashing thread's side of memory: the writers' blocks are shared memory, and every block it
// hashed stays alive until that thread's own collector has run, whatever the main thread does.
// Asked to collect (the idle release does), it lets them go. Measured in a fresh process
// (hash-memory-child.ts), where nothing else moves the RSS.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runJsonChild } from '../../../scripts/lib/json-child.js';
import { ROOT } from '../../helpers/server.js';

const MiB = 1024 * 1024;
const BLOCK = 16 * MiB;
const BLOCKS = 8;
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'hash-memory-child.ts');

interface Report {
  digestExact: boolean;
  heldMiB: number;
  leftMiB: number;
  trimmed: boolean;
}

function measure(collect: boolean): Promise<Report> {
  const job = { kind: 'hash memory', block: BLOCK, blocks: BLOCKS, collect, below: (BLOCK * BLOCKS) / 4 };
  return runJsonChild<Report>(ROOT, CHILD, job).result;
}

describe('HashStates', () => {
  it('hashes shared blocks exactly, and frees them once its thread has collected', async () => {
    const total = (BLOCK * BLOCKS) / MiB;
    const kept = await measure(false);
    expect(kept.digestExact).to.equal(true);
    // the main thread has let go of every block; the hashing thread's messages still hold them
    expect(kept.heldMiB, 'held before the hashing thread collects').to.be.greaterThan(total / 2);
    expect(kept.leftMiB, 'left when it is not asked to').to.be.greaterThan(total / 2);
    const freed = await measure(true);
    expect(freed.digestExact).to.equal(true);
    expect(freed.heldMiB, 'held before the hashing thread collects').to.be.greaterThan(total / 2);
    expect(freed.leftMiB, 'left after it collected').to.be.lessThan(total / 4);
  });
});
