// A body written through the chunk writer into a real file with the real hashing thread: a long
// body moves to large blocks and a short one keeps small ones, the file and the recorded chunk
// digests are exact either way, and every large block is back in the pool when the write ends,
// also when the body fails midway.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { ChunkDigests } from '../../../db/schema.js';
import type { ChunkSink } from '../../../store/storage/chunk-storage.js';
import { type BlockPool, writeBlockPool } from '../../../store/write/block-pool.js';
import { writeChunks } from '../../../store/write/chunk-writer.js';
import { HashStates } from '../../../store/write/hash-state.js';
import { writeAllAt } from '../../../store/write/positional-write.js';
import { readRange, removeDir, sha256, tempDir } from '../../helpers/files.js';

const MiB = 1024 * 1024;
const CHUNK = 5 * MiB;
const PIECE = 64 * 1024;

/** The body as a socket delivers it: 64 KiB pieces; fails after `failAfter` bytes if given. */
async function* pieces(data: Buffer, failAfter?: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += PIECE) {
    if (failAfter !== undefined && at >= failAfter) throw new Error('client went away');
    yield data.subarray(at, at + PIECE);
  }
}

describe('writeChunks', () => {
  let dir: string;
  let hashes: HashStates;
  let pool: BlockPool;

  beforeEach(async () => {
    dir = await tempDir('chunk-writer-');
    hashes = new HashStates();
    pool = writeBlockPool();
  });

  afterEach(async () => {
    await hashes.close();
    await removeDir(dir);
  });

  /** Writes `data` from offset 0 into a fresh file; what was recorded, and the largest large-block use seen. */
  async function write(id: string, data: Buffer, failAfter?: number, offsets: number[] = []) {
    const file = path.join(dir, id);
    const handle = await open(file, 'w+');
    const sink: ChunkSink = {
      write: (bytes, at) => writeAllAt(handle, bytes, at),
      sync: () => handle.datasync(),
      close: () => handle.close(),
    };
    const recorded: { offset: number; chunks: ChunkDigests }[] = [];
    let largestLargeOut = 0;
    const watch = setInterval(() => {
      largestLargeOut = Math.max(largestLargeOut, pool.largeBytesOut);
    }, 1);
    try {
      const end = await writeChunks(pieces(data, failAfter), {
        sink,
        chunkSize: CHUNK,
        length: data.length,
        maxLength: data.length,
        start: 0,
        hasher: await hashes.hasherAt(id, { path: file, from: 0 }, 0, CHUNK),
        blocks: pool,
        recorded: {},
        record: async (offset, chunks) => {
          largestLargeOut = Math.max(largestLargeOut, pool.largeBytesOut);
          recorded.push({ offset, chunks });
          offsets.push(offset);
        },
      });
      return { end, file, recorded, largestLargeOut };
    } finally {
      clearInterval(watch);
      await sink.close();
    }
  }

  it('moves a long body to large blocks, writes it exactly, records each chunk digest, and gives every block back', async () => {
    const data = randomBytes(12 * MiB);
    const { end, file, recorded, largestLargeOut } = await write('long', data);
    expect(end).to.equal(data.length);
    expect(largestLargeOut).to.be.greaterThan(0);
    expect(pool.largeBytesOut).to.equal(0);
    expect((await readRange(file, 0, data.length)).equals(data)).to.equal(true);
    const digests = Object.assign({}, ...recorded.map((r) => r.chunks)) as ChunkDigests;
    expect(digests).to.deep.equal({
      1: sha256(data.subarray(0, CHUNK)),
      2: sha256(data.subarray(CHUNK, 2 * CHUNK)),
      3: sha256(data.subarray(2 * CHUNK)),
    });
    expect(recorded.map((r) => r.offset)).to.deep.equal([CHUNK, 2 * CHUNK, data.length]);
  });

  it('keeps a 1 MiB body on small blocks', async () => {
    const data = randomBytes(MiB);
    const { end, file, largestLargeOut } = await write('short', data);
    expect(end).to.equal(MiB);
    expect(largestLargeOut).to.equal(0);
    expect((await readRange(file, 0, MiB)).equals(data)).to.equal(true);
  });

  it('gives every large block back when the body fails midway, keeping the chunk recorded before', async () => {
    const data = randomBytes(12 * MiB);
    const offsets: number[] = [];
    const failure = await write('broken', data, 7 * MiB + 3 * PIECE, offsets).catch((error: unknown) => error);
    expect(String(failure)).to.contain('client went away');
    expect(pool.largeBytesOut).to.equal(0);
    expect(offsets).to.deep.equal([CHUNK]);
  });
});
