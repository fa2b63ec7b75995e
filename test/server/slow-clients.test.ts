// Slow and stalled clients: ten PATCHes trickling one byte every 100 ms do not hold back a normal
// upload running beside them (it finishes about as fast as alone), and are not cut off, since they
// are never idle for IDLE_TIMEOUT; a PATCH that stops sending is closed by the server after
// IDLE_TIMEOUT, the bytes it sent are kept, and the upload resumes from them byte-identical.
import { setTimeout as pace } from 'node:timers/promises';
import { expect } from 'chai';
import { randomFile, readRange, removeDir, tempDir } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { createUpload, headOffset, OpenPatch } from '../helpers/tus-http.js';
import { expectAssetOf } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const IDLE_MS = 1500;

describe('slow and stalled clients', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    dir = await tempDir();
    server = await startTestServer({ CHUNK_SIZE: '5MiB', IDLE_TIMEOUT: `${IDLE_MS}ms` });
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  it('lets a normal upload finish at full speed beside ten clients sending 1 byte per 100 ms, and keeps their bytes', async function () {
    this.timeout(40_000);
    const owner = uniqueOwner('slow');
    const size = 24 * MiB;
    const file = await randomFile(dir, size, 'normal.bin');
    const timed = async () => {
      const started = performance.now();
      const result = await tusUploadFile(server.tusUrl, file, { owner, chunkSize: 8 * MiB });
      return { ms: performance.now() - started, result };
    };
    const alone = await timed();
    await expectAssetOf(server, alone.result.assetId, file);

    // ten uploads whose clients trickle their bodies
    const slowSize = 1000;
    const slow = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const { url } = await createUpload(server.tusUrl, { owner, length: slowSize });
        return { url, patch: new OpenPatch(url, 0, slowSize, owner) };
      }),
    );
    let trickling = true;
    const trickle = Promise.all(
      slow.map(async ({ patch }) => {
        while (trickling && patch.bytesSent < slowSize - 1) {
          await patch.send(Buffer.from([patch.bytesSent & 0xff]));
          await pace(100);
        }
      }),
    );
    const beside = await timed();
    await expectAssetOf(server, beside.result.assetId, file);
    // and the trickle goes on for twice the idle timeout without being cut
    const enough = (2 * IDLE_MS) / 100 + 2;
    await waitFor(() => slow.every(({ patch }) => patch.bytesSent >= enough), {
      what: 'the trickle to outlast the idle timeout',
      intervalMs: 100,
    });
    trickling = false;
    await trickle;

    console.log(
      `      normal 24 MiB upload: ${alone.ms.toFixed(0)} ms alone, ${beside.ms.toFixed(0)} ms beside 10 slow clients`,
    );
    expect(beside.ms, 'not held back by the slow clients').to.be.below(3 * alone.ms + 1000);
    for (const { url, patch } of slow) {
      expect(patch.bytesSent, 'still sending after 2 x IDLE_TIMEOUT').to.be.above((2 * IDLE_MS) / 100);
      patch.destroy();
      // what arrived is committed once the server sees the connection end
      const sent = patch.bytesSent;
      const kept = await waitFor(
        async () => {
          const offset = await headOffset(url, owner);
          return offset >= sent - 1 ? offset : undefined;
        },
        { what: 'the trickled bytes to be committed' },
      );
      expect(kept).to.be.at.most(sent);
    }
  });

  it('closes a PATCH that sends nothing for IDLE_TIMEOUT, keeps its bytes, and the upload resumes byte-identical', async function () {
    this.timeout(20_000);
    const owner = uniqueOwner('idle');
    const size = 6 * MiB + 12_345;
    const file = await randomFile(dir, size, 'idle.bin');
    const { url, id } = await createUpload(server.tusUrl, { owner, length: size, metadata: { filename: 'idle.bin' } });
    const patch = new OpenPatch(url, 0, size, owner);
    const sent = 5 * MiB + 300_000;
    for (let at = 0; at < sent; at += 100_000)
      await patch.send(await readRange(file, at, Math.min(sent, at + 100_000)));
    const stalledAt = performance.now();
    const ending = await patch.response.then(
      (res) => `answered ${res.statusCode}`,
      (error: Error) => `closed (${error.message})`,
    );
    const after = performance.now() - stalledAt;
    expect(after, ending)
      .to.be.at.least(IDLE_MS - 200)
      .and.below(IDLE_MS + 3000);
    expect(ending).to.match(/^closed/);

    // the bytes before the stall are kept: the whole first chunk and the part of the second
    const kept = await waitFor(
      async () => {
        const offset = await headOffset(url, owner);
        return offset === sent ? offset : undefined;
      },
      { what: 'the bytes sent before the stall to be committed' },
    );
    expect(kept).to.equal(sent);
    expect(Object.keys((await server.sessions.find(id))?.chunks ?? {})).to.deep.equal(['1']);

    const offsets: number[] = [];
    const result = await tusUploadFile(server.tusUrl, file, {
      owner,
      uploadUrl: url,
      onBeforeRequest(req) {
        if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
      },
    });
    expect(offsets[0]).to.equal(sent);
    await expectAssetOf(server, result.assetId, file);
  });
});
