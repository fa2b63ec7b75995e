// Several instances on one PostgreSQL database and one DATA_DIR: two server processes on two ports.
// PATCHes for one upload sent to both at once never write together (the second waits for the
// first to stop at a durable offset and is then refused), and the upload ends byte-identical; an
// instance killed with SIGKILL in the middle of a PATCH leaves no lock behind, and the upload
// finishes through the other instance. Needs DATABASE_URL (the embedded database is one process's).
import { randomBytes } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { expect } from 'chai';
import { randomFile, readRange, removeDir, tempDir } from '../helpers/files.js';
import { expectDownloadEquals, readBody } from '../helpers/integrity.js';
import { type ChildServer, startChildServer } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { createUpload, headOffset, OpenPatch } from '../helpers/tus-http.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;
const ENV = { CHUNK_SIZE: '5MiB', LOCK_TIMEOUT: '10s' };

interface Ending {
  status: number | undefined;
  body: string;
}

function endingOf(patch: OpenPatch): Promise<Ending> {
  return patch.response.then(
    async (res) => ({ status: res.statusCode, body: await readBody(res).catch(() => '') }),
    () => ({ status: undefined, body: 'connection closed' }),
  );
}

describe('several instances on one database and DATA_DIR', () => {
  let dir: string | undefined;
  let dataDir: string | undefined;
  let one: ChildServer | undefined;
  let two: ChildServer | undefined;

  function instances(): [ChildServer, ChildServer] {
    if (!one || !two) throw new Error('instances not started');
    return [one, two];
  }

  before(async function () {
    if (!process.env.DATABASE_URL) {
      console.log('      skipped: needs DATABASE_URL (PostgreSQL shared by both processes)');
      this.skip();
    }
    this.timeout(60_000);
    dir = await tempDir();
    dataDir = await tempDir('upload-test-instances-');
    // one after the other, so only one runs the migrations
    one = await startChildServer(dataDir, ENV);
    two = await startChildServer(dataDir, ENV);
  });
  after(async () => {
    await one?.kill('SIGKILL');
    await two?.kill('SIGKILL');
    if (dataDir) await removeDir(dataDir);
    if (dir) await removeDir(dir);
  });

  it('lets only one of two PATCHes sent to both instances write, and the upload ends byte-identical (needs DATABASE_URL)', async function () {
    this.timeout(30_000);
    const [one, two] = instances();
    const owner = uniqueOwner('two-instances');
    const size = 4 * C;
    const file = await randomFile(dir ?? '', size, 'two.bin');
    const { id, url: urlOne } = await createUpload(one.tusUrl, {
      owner,
      length: size,
      metadata: { filename: 'two.bin' },
    });
    const urlTwo = `${two.tusUrl}/${id}`;

    // the first PATCH, to instance one, writes a chunk and goes on slowly
    const first = new OpenPatch(urlOne, 0, size, owner);
    let sent = 0;
    while (sent < C + MiB) {
      await first.send(await readRange(file, sent, sent + MiB));
      sent += MiB;
    }
    const at = await waitFor(
      async () => {
        const offset = await headOffset(urlTwo, owner);
        return offset >= C ? offset : undefined;
      },
      { what: 'instance one to record the first chunk' },
    );

    // the second, to instance two, claims the same offset with other bytes
    const decoy = randomBytes(size - at);
    const second = new OpenPatch(urlTwo, at, decoy.length, owner);
    const ended: string[] = [];
    const secondEnding = endingOf(second).finally(() => ended.push('second'));
    const firstEnding = endingOf(first).finally(() => ended.push('first'));
    let firstDone = false;
    void firstEnding.then(() => {
      firstDone = true;
    });
    void second.send(decoy.subarray(0, MiB)).catch(() => {});

    // the first keeps sending, slowly, until its instance lets go of the upload
    while (!firstDone && sent + 128 * 1024 < size - MiB) {
      try {
        await first.send(await readRange(file, sent, sent + 128 * 1024));
        sent += 128 * 1024;
      } catch {
        break;
      }
      await pause(50);
    }
    const [a, b] = await Promise.all([firstEnding, secondEnding]);
    first.destroy();
    second.destroy();
    // the first stops at a durable offset (204, or its connection closed); the second, which
    // waited for the lock, finds the offset moved and is refused
    expect(a.status ?? 'closed', a.body).to.be.oneOf([204, 'closed']);
    expect(b.status, b.body).to.be.oneOf([409, 423]);
    expect(ended, 'the second waited for the first to let go').to.deep.equal(['first', 'second']);

    const offset = await headOffset(urlOne, owner);
    expect(offset).to.equal(await headOffset(urlTwo, owner));
    expect(offset).to.be.greaterThan(at).and.at.most(sent);

    const result = await tusUploadFile(two.tusUrl, file, {
      owner,
      uploadUrl: urlTwo,
      retryDelays: [0, 200, 500, 1000, 2000],
    });
    await expectDownloadEquals(one.url, owner, result.assetId, file, `${dir}/two.download`);
  });

  it('releases the lock of an instance killed with SIGKILL mid-PATCH; the other finishes the upload (needs DATABASE_URL)', async function () {
    this.timeout(30_000);
    const [one, two] = instances();
    const owner = uniqueOwner('sigkill-instance');
    const size = 4 * C + 4321;
    const file = await randomFile(dir ?? '', size, 'killed.bin');
    const { id, url: urlOne } = await createUpload(one.tusUrl, {
      owner,
      length: size,
      metadata: { filename: 'k.bin' },
    });
    const urlTwo = `${two.tusUrl}/${id}`;

    const patch = new OpenPatch(urlOne, 0, size, owner);
    for (let at = 0; at < C + 2 * MiB; at += MiB) await patch.send(await readRange(file, at, at + MiB));
    const recorded = await waitFor(
      async () => {
        const offset = await headOffset(urlTwo, owner);
        return offset >= C ? offset : undefined;
      },
      { what: 'instance one to record the first chunk' },
    );
    // instance one dies holding the upload's lock, in the middle of the PATCH
    await one.kill('SIGKILL');
    patch.destroy();

    const statuses: number[] = [];
    const offsets: number[] = [];
    const started = Date.now();
    const result = await tusUploadFile(two.tusUrl, file, {
      owner,
      uploadUrl: urlTwo,
      retryDelays: [0, 200, 500, 1000, 2000],
      onBeforeRequest(req) {
        if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
      },
      onAfterResponse(_req, res) {
        statuses.push(res.getStatus());
      },
    });
    expect(statuses, 'no wait for a lock that timed out').to.not.include(423);
    expect(Date.now() - started, 'well before LOCK_TIMEOUT').to.be.below(10_000);
    expect(offsets[0], 'resumed from what instance one had made durable').to.be.at.least(recorded);
    await expectDownloadEquals(two.url, owner, result.assetId, file, `${dir}/killed.download`);
  });
});
