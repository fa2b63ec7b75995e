// PATCHes that race for one upload: two at once at the same offset with different bytes, in seeded
// rounds, one advances the offset, the other is refused (409/423) or takes nothing, and the stored
// region is wholly one body's, never a mix; a PATCH that holds the upload without sending loses it.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { removeDir, tempDir } from '../../../helpers/files.js';
import { Random, testSeed } from '../../../helpers/random.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { tusUploadSource } from '../../../helpers/tus.js';
import { createUpload, headOffset, OpenPatch, patchUpload } from '../../../helpers/tus-http.js';
import { expectAssetOf } from '../../../helpers/uploads.js';
import { waitFor } from '../../../helpers/wait.js';
import { C, endingOf, MiB, stored, writeSource } from './setup.js';

describe('PATCH bodies that lie, and PATCHes that race', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  it('lets one of two PATCHes racing at the same offset write, never a mix of both (seeded rounds)', async function () {
    this.timeout(60_000);
    const random = new Random(testSeed(0x5eed_0008));
    const outcomes: string[] = [];
    for (let round = 0; round < 8; round++) {
      const owner = uniqueOwner('race');
      const size = 2 * C + random.int(0, MiB);
      const real = random.bytes(size);
      const decoy = random.bytes(size);
      const start = random.pick([0, 1000, C - 7, C + 12_345]);
      const { url, id } = await createUpload(server.tusUrl, { owner, length: size });
      if (start > 0) expect((await patchUpload(url, 0, real.subarray(0, start), { owner })).status).to.equal(204);

      // the first sends a head start, then both send their bodies piece by piece, interleaved
      const piece = 64 * 1024;
      const headStart = random.int(0, 8) * piece;
      const first = new OpenPatch(url, start, size - start, owner);
      const second = new OpenPatch(url, start, size - start, owner);
      const firstEnd = endingOf(first);
      const secondEnd = endingOf(second);
      // a request answered (or cut) stops sending
      const ended: boolean[] = [false, false];
      [first, second].forEach((patch, index) => {
        const stop = () => {
          ended[index] = true;
        };
        patch.response.then(stop, stop);
      });
      const sendFrom = async (patch: OpenPatch, source: Buffer, index: number, upTo: number) => {
        while (!ended[index] && patch.bytesSent < upTo) {
          const at = start + patch.bytesSent;
          try {
            await patch.send(source.subarray(at, Math.min(start + upTo, at + piece)));
          } catch {
            return;
          }
        }
      };
      await sendFrom(first, real, 0, Math.min(headStart, size - start));
      await Promise.all([sendFrom(first, real, 0, size - start), sendFrom(second, decoy, 1, size - start)]);
      const [a, b] = await Promise.all([firstEnd, secondEnd]);
      first.destroy();
      second.destroy();
      outcomes.push(`${a.status}/${b.status}@${start}+${headStart}`);

      // committed once both requests are over; the region after `start` is one body's bytes
      await server.service.writes.idle(10_000);
      const offset = await headOffset(url, owner);
      const advanced = [a, b].filter((e) => e.status === 204 && (e.offset ?? start) > start);
      expect(advanced.length, `round ${round}: ${JSON.stringify([a, b])}`).to.be.at.most(1);
      for (const e of [a, b]) {
        if (advanced.includes(e)) continue;
        const refused = e.status === 409 || e.status === 423 || e.status === 'closed';
        const tookNothing = e.status === 204 && e.offset === start;
        expect(refused || tookNothing, `round ${round}: ${JSON.stringify(e)}`).to.equal(true);
      }
      const region = await stored(server, id, start, offset);
      const fromReal = region.equals(real.subarray(start, offset));
      const fromDecoy = region.equals(decoy.subarray(start, offset));
      expect(fromReal || fromDecoy, `round ${round}: bytes ${start}-${offset} are one body's`).to.equal(true);
      expect(await stored(server, id, 0, start)).to.deep.equal(real.subarray(0, start));

      // finishing from what was stored gives an asset equal to that mix of sources, byte for byte
      const expected = Buffer.concat([real.subarray(0, start), (fromReal ? real : decoy).subarray(start)]);
      const assetId =
        offset === size
          ? ((await server.sessions.find(id))?.assetId ?? null)
          : (await tusUploadSource(server.tusUrl, expected, { owner, uploadUrl: url, retryDelays: [0, 100, 300] }))
              .assetId;
      await expectAssetOf(server, assetId, await writeSource(dir, expected));
    }
    console.log(`      outcomes (first/second): ${outcomes.join(' ')}`);
  });

  it('takes the upload away from a PATCH that holds it without sending, and keeps what it sent', async function () {
    this.timeout(30_000);
    const owner = uniqueOwner('holder');
    const size = 2 * C;
    const real = randomBytes(size);
    const decoy = randomBytes(size);
    const { url, id } = await createUpload(server.tusUrl, { owner, length: size });
    const holder = new OpenPatch(url, 0, size, owner);
    await holder.send(real.subarray(0, C + MiB));
    await waitFor(async () => ((await server.sessions.find(id))?.uploadOffset ?? 0) >= C, {
      what: 'the holder to record its first chunk',
    });
    // the holder goes quiet with the lock; a second PATCH asks for it
    const second = await patchUpload(url, C + MiB, decoy.subarray(C + MiB), { owner });
    const held = await endingOf(holder);
    holder.destroy();
    expect(held.status, JSON.stringify(held)).to.be.oneOf([204, 'closed']);
    // the holder commits what it had before letting go, so the second finds the offset it claimed
    expect(second.status, second.body).to.be.oneOf([204, 409]);
    const offset = await headOffset(url, owner);
    const written = await stored(server, id, 0, offset);
    const expected = Buffer.concat([real.subarray(0, C + MiB), decoy.subarray(C + MiB, offset)]);
    expect(written.equals(expected.subarray(0, offset)), 'the holder’s bytes, then the second’s').to.equal(true);
  });
});
