// Start-up repair of what a crash leaves behind, on the same DATA_DIR and database: a data file
// shorter than the recorded offset sets the session back to the last whole chunk on disk, and the
// upload resumes byte-identical; a finalise interrupted after reserving the asset id (with the data
// moved or not) is finished, one with its data gone is failed; finalising twice makes one asset.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { StorageLayout } from '../../store/storage/layout.js';
import { randomFile, readRange, removeDir, sha256, tempDir } from '../helpers/files.js';
import { startTestServer, startTestServerAt, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { createUpload, headOffset, patchUpload } from '../helpers/tus-http.js';
import { dataFileOf, expectAssetOf } from '../helpers/uploads.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;
const ENV = { CHUNK_SIZE: '5MiB' };

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describe('crash repair at start-up', () => {
  let dir: string;
  // every server this file starts; the last one on a DATA_DIR deletes it
  const running: TestServer[] = [];
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    for (const server of running.reverse()) await server.close();
    for (const server of running) await removeDir(server.dataDir);
    await removeDir(dir);
  });

  async function start(dataDir?: string): Promise<TestServer> {
    const server = dataDir ? await startTestServerAt(dataDir, ENV) : await startTestServer(ENV);
    running.push(server);
    return server;
  }

  it('sets a session whose data file is shorter than its offset back to the last whole chunk, and it resumes', async function () {
    this.timeout(30_000);
    const owner = uniqueOwner('short-file');
    const size = 3 * C + 1000;
    const files = await Promise.all(['a', 'b', 'c'].map((name) => randomFile(dir, size, `short-${name}.bin`)));
    const first = await start();
    const uploads: { url: string; id: string }[] = [];
    for (const file of files) {
      const upload = await createUpload(first.tusUrl, { owner, length: size, metadata: { filename: 'short.bin' } });
      const reply = await patchUpload(upload.url, 0, await readRange(file, 0, 2 * C + 2 * MiB), { owner });
      expect(reply.status, reply.body).to.equal(204);
      expect(reply.headers.get('upload-offset')).to.equal(String(2 * C + 2 * MiB));
      uploads.push(upload);
    }
    const [a, b, c] = uploads as [(typeof uploads)[0], (typeof uploads)[0], (typeof uploads)[0]];
    await first.close();

    // the crash lost the tail of two data files: a keeps one whole chunk, b two and a bit
    await truncate(dataFileOf(first.dataDir, a.id), C + MiB);
    await truncate(dataFileOf(first.dataDir, b.id), 2 * C + MiB);

    const second = await start(first.dataDir);
    const at = async (id: string) => {
      const session = await second.sessions.find(id);
      return { offset: session?.uploadOffset, chunks: Object.keys(session?.chunks ?? {}).sort() };
    };
    expect(await at(a.id)).to.deep.equal({ offset: C, chunks: ['1'] });
    expect(await at(b.id)).to.deep.equal({ offset: 2 * C, chunks: ['1', '2'] });
    expect(await at(c.id), 'an intact upload is left alone').to.deep.equal({
      offset: 2 * C + 2 * MiB,
      chunks: ['1', '2'],
    });
    const tusUrl = (id: string) => `${second.tusUrl}/${id}`;
    expect(await headOffset(tusUrl(a.id), owner)).to.equal(C);
    expect(await headOffset(tusUrl(b.id), owner)).to.equal(2 * C);
    expect(await headOffset(tusUrl(c.id), owner)).to.equal(2 * C + 2 * MiB);

    for (const [index, upload] of uploads.entries()) {
      const file = files[index] ?? '';
      const offsets: number[] = [];
      const result = await tusUploadFile(second.tusUrl, file, {
        owner,
        uploadUrl: tusUrl(upload.id),
        onBeforeRequest(req) {
          if (req.getMethod() === 'PATCH') offsets.push(Number(req.getHeader('Upload-Offset')));
        },
      });
      expect(offsets[0], 'resumed from the repaired offset').to.equal([C, 2 * C, 2 * C + 2 * MiB][index]);
      await expectAssetOf(second, result.assetId, file);
      const session = await second.sessions.find(upload.id);
      expect(session?.status).to.equal('completed');
      for (let n = 1; n <= 4; n++) {
        const region = await readRange(file, (n - 1) * C, Math.min(size, n * C));
        expect(session?.chunks[String(n)], `chunk ${n} of upload ${index}`).to.equal(sha256(region));
      }
    }
  });

  it('finishes a half-done finalise at start-up, fails one whose data is gone, and never makes two assets', async function () {
    this.timeout(30_000);
    const owner = uniqueOwner('half-final');
    const size = C + 12_345;
    const first = await start();
    const api = new StorageApi(first.url, owner);
    const layout = new StorageLayout(first.dataDir);

    // three fully received REST sessions whose finalise never ran to the end
    const received: { id: string; file: string }[] = [];
    for (const name of ['moved', 'reserved', 'lost']) {
      const file = await randomFile(dir, size, `${name}.bin`);
      const session = await api.initiate({ filename: `${name}.bin`, file_size: size, chunk_size: C });
      await api.sendAll(session.session_id, await readRange(file, 0, size), C);
      const row = await first.sessions.find(session.session_id);
      expect(row?.uploadOffset).to.equal(size);
      expect(row?.status).to.equal('uploading');
      received.push({ id: session.session_id, file });
    }
    const [moved, reserved, lost] = received as [(typeof received)[0], (typeof received)[0], (typeof received)[0]];
    await first.close();

    // the states a crash inside finalise leaves: asset id reserved, and the data file already
    // renamed into assets/ (moved), still in uploads/ (reserved), or gone from both (lost)
    const reservedIds = new Map<string, string>();
    for (const { id } of received) reservedIds.set(id, await first.sessions.reserveAssetId(owner, id, randomUUID()));
    const movedTarget = layout.resolve(layout.assetRelativePath(owner, reservedIds.get(moved.id) ?? '', 'moved.bin'));
    await mkdir(path.dirname(movedTarget), { recursive: true });
    await rename(dataFileOf(first.dataDir, moved.id), movedTarget);
    await rm(dataFileOf(first.dataDir, lost.id));
    for (const { id } of received) expect(await first.assets.findBySession(id)).to.equal(undefined);

    const second = await start(first.dataDir);
    for (const { id, file } of [moved, reserved]) {
      const session = await second.sessions.find(id);
      expect(session?.status, `session ${id}`).to.equal('completed');
      expect(session?.assetId).to.equal(reservedIds.get(id));
      const asset = await expectAssetOf(second, session?.assetId ?? null, file);
      expect(asset.sessionId).to.equal(id);
      expect(await exists(dataFileOf(second.dataDir, id)), 'the data now lives under assets/').to.equal(false);
    }
    const failed = await second.sessions.find(lost.id);
    expect(failed?.status).to.equal('failed');
    expect(failed?.error ?? '').to.match(/missing/);
    expect(await second.assets.findBySession(lost.id)).to.equal(undefined);

    // finalising again, at the same time and through the REST route, returns the same asset
    const again = await Promise.all([
      second.service.complete(owner, moved.id),
      second.service.complete(owner, moved.id),
    ]);
    expect(again.map((a) => a.id)).to.deep.equal([reservedIds.get(moved.id), reservedIds.get(moved.id)]);
    const api2 = new StorageApi(second.url, owner);
    const viaRest = await api2.complete(reserved.id);
    expect(viaRest.asset_id).to.equal(reservedIds.get(reserved.id));
    expect((await second.assets.listByOwner(owner, 10, 0)).length, 'one asset per upload').to.equal(2);

    // a third start finds nothing left to repair for these uploads
    await second.close();
    const third = await start(first.dataDir);
    expect((await third.assets.listByOwner(owner, 10, 0)).length).to.equal(2);
    expect((await third.sessions.find(lost.id))?.status).to.equal('failed');
  });

  it('makes one asset when a fully received upload is completed by several requests at once', async () => {
    const owner = uniqueOwner('complete-race');
    const server = await start();
    const api = new StorageApi(server.url, owner);
    const size = 2 * C + 77;
    const file = await randomFile(dir, size, 'race.bin');
    const session = await api.initiate({ filename: 'race.bin', file_size: size, chunk_size: C });
    await api.sendAll(session.session_id, await readRange(file, 0, size), C);
    const replies = await Promise.all(Array.from({ length: 4 }, () => api.actionRaw(session.session_id, 'complete')));
    const ids = new Set<string>();
    for (const reply of replies) {
      expect(reply.status, reply.text).to.equal(200);
      ids.add((JSON.parse(reply.text) as { asset_id: string }).asset_id);
    }
    expect(ids.size, 'every request names the same asset').to.equal(1);
    await expectAssetOf(server, [...ids][0] ?? null, file);
    expect(await server.assets.listByOwner(owner, 10, 0)).to.have.length(1);
  });
});
