// SIGKILL at seeded random points, 20 rounds on one DATA_DIR and database: half the rounds kill the
// server process in the middle of an upload's PATCH (after N random bytes), half just after the
// last byte, while the upload is being finalised (write of the last chunk, hash, move into
// assets/, the completing transaction) or right after. Each time the server is restarted, HEAD
// reports no more than was sent, the session is in a state it can leave, the upload resumes (or
// was finished by start-up repair) to a byte-identical asset, and DATA_DIR/uploads holds no file
// beyond the live sessions. At the end: one asset per upload, one file per asset, no orphans.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as killDelay } from 'node:timers/promises';
import { expect } from 'chai';
import { removeDir, sha256, tempDir } from '../helpers/files.js';
import { Random, testSeed } from '../helpers/random.js';
import type { SessionList, SessionView } from '../helpers/rest.js';
import { scaled } from '../helpers/scale.js';
import { type ChildServer, startChildServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { tusUploadSource } from '../helpers/tus.js';
import { createUpload, headOffset, OpenPatch } from '../helpers/tus-http.js';

const MiB = 1024 * 1024;
const ROUNDS = scaled(20);
const ENV = { CHUNK_SIZE: '5MiB', LOCK_TIMEOUT: '5s' };
// after a crash the dead process's lock may take a moment to go; tus-js-client retries 423 and 409
const RETRIES = [0, 100, 200, 400, 800, 1000, 2000];
const LIVE = new Set<SessionView['status']>(['initiated', 'uploading', 'paused']);

describe('SIGKILL at random points of uploading and finalising', () => {
  let dataDir: string;
  let server: ChildServer | undefined;
  before(async () => {
    dataDir = await tempDir('upload-test-sigkill-');
  });
  after(async () => {
    await server?.kill('SIGKILL');
    await removeDir(dataDir);
  });

  it(`restarts ${ROUNDS} times and every upload ends byte-identical, with no orphan or stuck session`, async function () {
    this.timeout(120_000);
    const seed = testSeed(0x0c1a_0008);
    const random = new Random(seed);
    const owner = uniqueOwner('sigkill');
    const landed: Record<string, number> = {};
    const assetIds = new Set<string>();
    const started = performance.now();
    server = await startChildServer(dataDir, ENV);

    for (let round = 0; round < ROUNDS; round++) {
      const running = server;
      const phase = round % 2 === 0 ? 'upload' : 'finalise';
      const size = random.int(6 * MiB, 12 * MiB);
      const source = random.bytes(size);
      const context = `seed ${seed} round ${round} (${phase}, ${size} bytes)`;
      const { url, id } = await createUpload(running.tusUrl, { owner, length: size, metadata: { filename: 'k.bin' } });
      const patch = new OpenPatch(url, 0, size, owner);
      const sendUpTo = async (end: number) => {
        while (patch.bytesSent < end) {
          const piece = Math.min(end - patch.bytesSent, random.int(64 * 1024, MiB));
          await patch.send(source.subarray(patch.bytesSent, patch.bytesSent + piece));
        }
      };
      if (phase === 'upload') {
        await sendUpTo(random.int(0, size - 1));
      } else {
        await sendUpTo(size);
        // the kill lands somewhere between the last byte arriving and the answer (or just after)
        await killDelay(random.int(0, 60));
      }
      const killedAt = Date.now();
      await running.kill('SIGKILL');
      patch.destroy();
      const sent = patch.bytesSent;

      server = await startChildServer(dataDir, ENV);
      const restarted = server;
      const api = new StorageApi(restarted.url, owner);
      const resumeUrl = `${restarted.tusUrl}/${id}`;
      const offset = await headOffset(resumeUrl, owner);
      expect(offset, `${context}: never more than was sent`).to.be.at.most(sent);
      const after = await api.status(id);
      expect(after.status, `${context}: a state the upload can leave or a finished one`).to.be.oneOf([
        'initiated',
        'uploading',
        'completed',
      ]);
      const completedAt = after.completed_at ? Date.parse(after.completed_at) : Number.POSITIVE_INFINITY;
      const where =
        phase === 'upload'
          ? 'mid-upload'
          : offset < size
            ? 'finalise: before the last chunk was recorded'
            : completedAt < killedAt
              ? 'finalise: after the asset was committed'
              : 'finalise: all received, finished by start-up repair';
      landed[where] = (landed[where] ?? 0) + 1;

      let assetId = after.status === 'completed' ? after.asset_id : null;
      if (!assetId) {
        const result = await tusUploadSource(restarted.tusUrl, source, {
          owner,
          uploadUrl: resumeUrl,
          retryDelays: RETRIES,
        });
        assetId = result.assetId ?? (await api.status(id)).asset_id;
      }
      expect(assetId, context).to.be.a('string');
      const download = await api.download(assetId ?? '');
      expect(download.status, context).to.equal(200);
      expect(sha256(download.bytes), `${context}: byte-identical`).to.equal(sha256(source));
      assetIds.add(assetId ?? '');

      // no data file in uploads/ beyond the sessions still live
      const list = await api.list('limit=200');
      const live = new Set(list.sessions.filter((s) => LIVE.has(s.status)).map((s) => s.session_id));
      const files = await readdir(path.join(dataDir, 'uploads'));
      expect(
        files.filter((f) => !live.has(f)),
        `${context}: orphan data files`,
      ).to.deep.equal([]);
    }

    const api = new StorageApi(server.url, owner);
    const list: SessionList = await api.list('limit=200');
    expect(list.total, 'one session per round').to.equal(ROUNDS);
    expect(
      list.sessions.filter((s) => s.status !== 'completed').map((s) => `${s.session_id} ${s.status}`),
      'no session left unfinished',
    ).to.deep.equal([]);
    expect(assetIds.size, 'one asset per upload').to.equal(ROUNDS);
    expect(await readdir(path.join(dataDir, 'uploads')), 'no data file left in uploads/').to.deep.equal([]);
    const ownerDirs = await readdir(path.join(dataDir, 'assets'));
    expect(ownerDirs).to.have.length(1);
    const assetDirs = await readdir(path.join(dataDir, 'assets', ownerDirs[0] ?? ''));
    expect(new Set(assetDirs), 'one directory per asset, nothing else').to.deep.equal(assetIds);
    for (const dir of assetDirs) {
      expect(await readdir(path.join(dataDir, 'assets', ownerDirs[0] ?? '', dir)), dir).to.have.length(1);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`      ${ROUNDS} kills in ${seconds.toFixed(1)} s; where they landed: ${JSON.stringify(landed)}`);
  });
});
