// Run by hash-state.test.ts in a process of its own, so no other test's memory moves the RSS it
// reads: hashes BLOCKS shared blocks on the hashing thread, drops them, and reports the RSS they
// still hold before and after that thread collects (after, waiting a while for it to fall) (followed, as in the idle release, by a full
// collection here and a trim of the C heap where glibc offers one). Its last stdout line is JSON.
import { createHash } from 'node:crypto';
import { loadHeapTrim } from '../../../server/ops/heap-trim.js';
import { fullCollection } from '../../../server/ops/idle-memory.js';
import { createLogger } from '../../../server/ops/logger.js';
import { HashStates } from '../../../store/write/hash-state.js';

const MiB = 1024 * 1024;
const { block, blocks, collect, below } = JSON.parse(process.argv[2] ?? '{}') as {
  block: number;
  blocks: number;
  collect: boolean;
  /** Wait (at most 5 s) for the RSS they hold to fall below this many bytes. */
  below: number;
};
const rss = () => process.memoryUsage().rss;

const hashes = new HashStates();
const hasher = await hashes.hasherAt('upload', { path: '/nonexistent', from: 0 }, 0, block * blocks);
const trim = await loadHeapTrim(createLogger('silent'));
const expected = createHash('sha256');
fullCollection();
const before = rss();
for (let i = 0; i < blocks; i++) {
  const data = Buffer.from(new SharedArrayBuffer(block));
  data.fill(i + 1);
  expected.update(data);
  await hasher.update(data);
}
const digestExact = (await hasher.chunkDigest()) === expected.digest('hex');
fullCollection();
const held = rss() - before;
if (collect) await hashes.collect();
// V8 frees the backing stores of collected buffers on a background thread, after the collection
// returns: poll with a deadline
let left = Number.POSITIVE_INFINITY;
for (const deadline = Date.now() + 5_000; left >= below && Date.now() < deadline; ) {
  fullCollection();
  trim?.();
  left = rss() - before;
  if (left >= below) await new Promise((resolve) => setTimeout(resolve, 50));
}
await hashes.close();
console.log(JSON.stringify({ digestExact, heldMiB: held / MiB, leftMiB: left / MiB, trimmed: trim !== undefined }));
