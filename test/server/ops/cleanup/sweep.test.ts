// The cleanup sweep in the server (RunningServer.cleanup): with a short SESSION_TTL, unfinished
// sessions whose last byte is older than the TTL are expired (HEAD 410) and their data deleted;
// fresh and completed uploads are untouched; orphan files go to DATA_DIR/quarantine; the report
// counts what was done.
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { expect } from 'chai';
import type { CleanupReport } from '../../../../server/ops/cleanup.js';
import { randomFile, removeDir, tempDir } from '../../../helpers/files.js';
import { startTestServer, startTestServerAt, type TestServer } from '../../../helpers/server.js';
import { StorageApi } from '../../../helpers/storage-api.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { tusUploadFile } from '../../../helpers/tus.js';
import { createUpload, headOffset, patchUpload, tusRequest } from '../../../helpers/tus-http.js';
import { dataFileOf, expectAssetOf, snapshotUpload } from '../../../helpers/uploads.js';
import { exists, expectQuarantined, MiB, plantOrphans, waitUntilExpired } from './setup.js';

describe('cleanup', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeDir(dir);
  });

  describe('a sweep in the server', () => {
    const owner = uniqueOwner('sweep');
    let server: TestServer;
    // a second instance on the same DATA_DIR and database with a long TTL, for a fresh session
    let longTtl: TestServer | undefined;

    before(async () => {
      server = await startTestServer({ SESSION_TTL: '2s', ORPHAN_GRACE: '1ms', CHUNK_SIZE: '5MiB' });
      longTtl = await startTestServerAt(server.dataDir, { SESSION_TTL: '1h', ORPHAN_GRACE: '1ms' });
    });
    after(async () => {
      await longTtl?.close();
      await server.stop();
    });

    it('expires stale sessions and deletes their data, keeps fresh and completed ones, quarantines orphans', async function () {
      this.timeout(30_000);
      const C = server.config.chunkSize;
      const api = new StorageApi(server.url, owner);

      // stale: an empty tus upload, a tus upload holding a chunk and a bit, a paused REST session
      const empty = await createUpload(server.tusUrl, { owner, length: 1000 });
      const withData = await createUpload(server.tusUrl, { owner, length: 2 * C });
      const patched = await patchUpload(withData.url, 0, randomBytes(C + 100), { owner });
      expect(patched.status, patched.body).to.equal(204);
      const rest = await api.initiate({ file_size: 2 * C, chunk_size: C });
      await api.chunk(rest.session_id, 2, randomBytes(C));
      await api.action(rest.session_id, 'pause');
      const stale = [empty.id, withData.id, rest.session_id];
      for (const id of [withData.id, rest.session_id]) {
        expect((await stat(dataFileOf(server.dataDir, id))).size, 'stale data on disk').to.be.greaterThan(0);
      }

      // completed before the TTL passes
      const source = await randomFile(dir, 300_000, 'completed.bin');
      const completed = await tusUploadFile(server.tusUrl, source, { owner });
      const completedId = new URL(completed.url).pathname.split('/').pop() ?? '';

      await waitUntilExpired(await Promise.all(stale.map((id) => server.sessions.find(id))));

      // fresh: last byte received just now, on the instance with the long TTL
      if (!longTtl) throw new Error('second instance not started');
      const fresh = await createUpload(longTtl.tusUrl, { owner, length: 3 * MiB });
      const freshBytes = randomBytes(MiB);
      expect((await patchUpload(fresh.url, 0, freshBytes, { owner })).status).to.equal(204);
      const freshBefore = await snapshotUpload(server, fresh.id);

      const orphans = await plantOrphans(server.dataDir, uniqueOwner('nobody'));
      const staleAtStart = (await server.sessions.findStale(new Date(), 100_000)).length;
      const report = (await server.cleanup()) as CleanupReport;
      expect(report, 'the sweep ran').to.be.an('object');
      expect(report.orphanUploadFiles).to.equal(2);
      expect(report.orphanAssetDirs).to.equal(1);
      // the database is shared with every test of this run: stale sessions of others count too
      expect(report.expired).to.be.at.least(Math.max(stale.length, staleAtStart));
      expect(report.ms).to.be.a('number').and.at.least(0);

      for (const id of stale) {
        const session = await server.sessions.find(id);
        expect(session?.status, `session ${id}`).to.equal('expired');
        expect(await exists(dataFileOf(server.dataDir, id)), `data of ${id} deleted`).to.equal(false);
      }
      for (const url of [empty.url, withData.url]) {
        const head = await tusRequest('HEAD', url, { owner });
        expect(head.status).to.equal(410);
        expect(head.headers.get('x-error-type'), 'the error type').to.equal('gone');
        const patch = await patchUpload(url, 0, randomBytes(10), { owner });
        expect(patch.status, 'an expired upload takes no bytes').to.equal(410);
        expect(patch.headers.get('x-error-type'), 'the error type').to.equal('gone');
      }
      expect((await api.status(rest.session_id)).status).to.equal('expired');

      const freshAfter = await snapshotUpload(server, fresh.id);
      expect(freshAfter).to.deep.equal(freshBefore);
      expect(freshAfter.status).to.equal('uploading');
      expect(await headOffset(fresh.url, owner)).to.equal(MiB);

      const completedSession = await server.sessions.find(completedId);
      expect(completedSession?.status).to.equal('completed');
      await expectAssetOf(server, completed.assetId, source);
      const head = await tusRequest('HEAD', completed.url, { owner });
      expect(head.status).to.equal(200);
      expect(head.headers.get('upload-offset')).to.equal('300000');

      await expectQuarantined(server.dataDir, orphans);

      // a second sweep finds nothing more of this test's to do
      const again = (await server.cleanup()) as CleanupReport;
      expect(again.orphanUploadFiles).to.equal(0);
      expect(again.orphanAssetDirs).to.equal(0);
      expect(await snapshotUpload(server, fresh.id)).to.deep.equal(freshBefore);

      // and the fresh upload still finishes
      const more = randomBytes(2 * MiB);
      const finish = await patchUpload(fresh.url, MiB, more, { owner });
      expect(finish.status, finish.body).to.equal(204);
      expect(finish.headers.get('upload-asset-id')).to.be.a('string');
    });
  });
});
