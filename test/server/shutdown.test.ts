// Graceful stop: SIGTERM to a server process in the middle of a long PATCH. The process exits within
// its grace period, the PATCH ends (with a response naming a durable offset, or a closed
// connection), and after a restart the upload resumes from a durable offset to a byte-identical asset.
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
const GRACE_MS = 5000;
const ENV = { CHUNK_SIZE: '5MiB', SHUTDOWN_GRACE: `${GRACE_MS}ms` };
// tus-js-client retries on 409 and 423 after a fresh HEAD
const RETRIES = [0, 100, 200, 400, 800, 1000, 2000];

describe('graceful stop', () => {
  let dir: string;
  let dataDir: string;
  const children: ChildServer[] = [];
  before(async () => {
    dir = await tempDir();
    dataDir = await tempDir('upload-test-shutdown-');
  });
  after(async () => {
    for (const child of children) await child.kill('SIGKILL');
    await removeDir(dataDir);
    await removeDir(dir);
  });

  it('on SIGTERM mid-PATCH exits within the grace period at a durable offset the upload resumes from', async function () {
    this.timeout(60_000);
    const owner = uniqueOwner('sigterm');
    const size = 4 * C + 1000;
    const file = await randomFile(dir, size, 'sigterm.bin');
    const first = await startChildServer(dataDir, ENV);
    children.push(first);
    const { url, id } = await createUpload(first.tusUrl, {
      owner,
      length: size,
      metadata: { filename: 'sigterm.bin' },
    });

    const patch = new OpenPatch(url, 0, size, owner);
    let sent = 0;
    const sendPiece = async (bytes: number) => {
      await patch.send(await readRange(file, sent, sent + bytes));
      sent += bytes;
    };
    while (sent < C + 2 * MiB) await sendPiece(MiB);
    const recorded = await waitFor(
      async () => {
        const offset = await headOffset(url, owner);
        return offset > 0 ? offset : undefined;
      },
      { what: 'the first chunk to be recorded' },
    );

    let ended: 'response' | 'closed' | undefined;
    let status: number | undefined;
    let answeredOffset: number | undefined;
    let body = '';
    const endOfPatch = patch.response.then(
      async (res) => {
        status = res.statusCode;
        body = await readBody(res).catch(() => '');
        // 204 names the offset in Upload-Offset; 503 tells the client to resume, naming it too
        const named = res.headers['upload-offset'] ?? /stored up to byte (\d+)/.exec(body)?.[1];
        answeredOffset = named === undefined ? undefined : Number(named);
        ended = 'response';
      },
      () => {
        ended = 'closed';
      },
    );
    const signalledAt = Date.now();
    const exited = first.kill('SIGTERM');
    let exitedAt: number | undefined;
    void exited.then(() => {
      exitedAt = Date.now();
    });
    // the client goes on sending, slowly, while the server stops
    while (ended === undefined && exitedAt === undefined && sent + 256 * 1024 < size) {
      try {
        await sendPiece(256 * 1024);
      } catch {
        break;
      }
      await pause(20);
    }
    await exited;
    const took = (exitedAt ?? Date.now()) - signalledAt;
    expect(took, 'exited within the grace period').to.be.below(GRACE_MS + 2000);
    expect(first.process.exitCode, 'a clean exit').to.equal(0);
    await Promise.race([endOfPatch, waitFor(() => ended, { what: 'the PATCH to end', timeoutMs: 5000 })]);
    expect(ended).to.be.oneOf(['response', 'closed']);
    if (ended === 'response') {
      expect(status, body).to.be.oneOf([204, 503]);
      if (status === 503) expect(body).to.match(/shutting down/);
      expect(answeredOffset, body).to.be.a('number').and.at.least(recorded).and.at.most(sent);
    }

    const second = await startChildServer(dataDir, ENV);
    children.push(second);
    const resumeUrl = `${second.tusUrl}/${id}`;
    const durable = await headOffset(resumeUrl, owner);
    expect(durable, 'a durable offset survives the stop').to.be.at.least(recorded).and.greaterThan(0);
    expect(durable, 'never more than was sent').to.be.at.most(sent);
    if (answeredOffset !== undefined)
      expect(durable, 'the offset the PATCH answered is durable').to.equal(answeredOffset);

    const offsets: number[] = [];
    const result = await tusUploadFile(second.tusUrl, file, {
      owner,
      uploadUrl: resumeUrl,
      retryDelays: RETRIES,
      onBeforeRequest(req) {
        if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
      },
    });
    expect(offsets[0], 'resumed from the durable offset').to.equal(durable);
    await expectDownloadEquals(second.url, owner, result.assetId, file, `${dir}/sigterm.download`);
    await second.kill('SIGTERM');
    expect(second.process.exitCode).to.equal(0);
  });
});
