// The network cut in the middle of a PATCH, at seeded random points: in each of 50 rounds a client
// sends part of the body and destroys its socket after N bytes (N anywhere, often near a chunk
// boundary; some rounds are cut twice), then resumes the way a tus client does: HEAD, then PATCH
// the rest from the reported offset (again after a 409 if the cut request's bytes were committed
// in between). HEAD never reports more than was sent, and every asset is byte-identical.

import path from 'node:path';
import { expect } from 'chai';
import { sha256, sha256File } from '../helpers/files.js';
import { Random, testSeed } from '../helpers/random.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { createUpload, headOffset, OpenPatch, patchUpload } from '../helpers/tus-http.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;
const ROUNDS = 50;

describe('network cut mid-PATCH', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.stop();
  });

  it(`resumes ${ROUNDS} uploads cut at random points to byte-identical assets`, async function () {
    this.timeout(60_000);
    const seed = testSeed(0x0c07_0008);
    const random = new Random(seed);
    let cuts = 0;
    let conflicts = 0;
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      const owner = uniqueOwner('cut');
      const size = random.int(1, 12 * MiB);
      const source = random.bytes(size);
      const { url, id } = await createUpload(server.tusUrl, { owner, length: size, metadata: { filename: 'cut.bin' } });
      const context = `seed ${seed} round ${round} (${size} bytes)`;

      let offset = 0;
      // the furthest byte any request of this round has handed to its socket
      let furthest = 0;
      for (let cut = 0; cut < (random.bool(0.3) ? 2 : 1); cut++) {
        // where to cut: anywhere, or just around a chunk boundary
        const left = size - offset;
        const boundary = Math.ceil((offset + 1) / C) * C;
        const nearBoundary = boundary - offset + random.int(-70_000, 70_000);
        const n = random.bool(0.4) && nearBoundary > 0 && nearBoundary < left ? nearBoundary : random.int(0, left - 1);
        const patch = new OpenPatch(url, offset, left, owner);
        // a request sent at a stale offset is refused (409) at once: stop sending into it
        let answered = false;
        patch.response.then(
          () => {
            answered = true;
          },
          () => {},
        );
        for (let at = 0; at < n && !answered; ) {
          const piece = Math.min(n - at, random.int(1, 256 * 1024));
          await patch.send(source.subarray(offset + at, offset + at + piece));
          at += piece;
        }
        patch.destroy();
        cuts++;
        furthest = Math.max(furthest, offset + patch.bytesSent);
        const reported = await headOffset(url, owner);
        expect(reported, `${context}: HEAD after a cut at ${furthest}`).to.be.at.most(furthest).and.at.least(offset);
        offset = reported;
      }

      // resume: PATCH the rest from the reported offset; a 409 means the cut request's bytes were
      // committed after the HEAD, so ask again
      let done = false;
      for (let attempt = 0; attempt < 10 && !done; attempt++) {
        const reply = await patchUpload(url, offset, source.subarray(offset), { owner });
        if (reply.status === 409 || reply.status === 423) {
          conflicts++;
          offset = await headOffset(url, owner);
          continue;
        }
        expect(reply.status, `${context}: ${reply.body}`).to.equal(204);
        expect(reply.headers.get('upload-offset')).to.equal(String(size));
        done = true;
      }
      expect(done, `${context}: resumed within 10 attempts`).to.equal(true);
      const session = await server.sessions.find(id);
      expect(session?.status, context).to.equal('completed');
      const asset = await server.assets.findBySession(id);
      const file = path.resolve(server.dataDir, asset?.storagePath ?? 'missing');
      expect(await sha256File(file), `${context}: asset is byte-identical`).to.equal(sha256(source));
      expect(asset?.sha256).to.equal(sha256(source));
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `      ${ROUNDS} rounds, ${cuts} cuts, ${conflicts} resumes re-asked after a 409, ${seconds.toFixed(1)} s`,
    );
  });
});
