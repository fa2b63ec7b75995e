// The cleanup sweep as `npm run cleanup`: the same expiry and quarantine as in the server, with the
// report it prints.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { CleanupReport } from '../../../../server/ops/cleanup.js';
import { randomFile, readRange, removeDir, tempDir } from '../../../helpers/files.js';
import { withStorageView } from '../../../helpers/storage-view.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { tusUploadFile } from '../../../helpers/tus.js';
import { createUpload, patchUpload } from '../../../helpers/tus-http.js';
import { dataFileOf, expectAssetOf } from '../../../helpers/uploads.js';
import { waitFor } from '../../../helpers/wait.js';
import { exists, expectQuarantined, plantOrphans, runCleanupCli, startOwnServer } from './setup.js';

describe('cleanup', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeDir(dir);
  });

  describe('npm run cleanup', () => {
    it('runs one sweep with the server configuration, prints its report and exits', async function () {
      this.timeout(60_000);
      const owner = uniqueOwner('cleanup-cli');
      const dataDir = await tempDir('upload-test-cleanup-');
      try {
        // stale and completed uploads, made by a server with a 2 s TTL; it has the database of
        // the configuration (the embedded one under DATA_DIR, unless DATABASE_URL is set)
        const short = await startOwnServer(dataDir, { SESSION_TTL: '2s' });
        let staleId: string;
        let staleExpires: number;
        let completedId: string;
        let completedAsset: string | null;
        const source = await randomFile(dir, 200_000, 'cli-completed.bin');
        try {
          const stale = await createUpload(short.tusUrl, { owner, length: 100_000 });
          const patched = await patchUpload(stale.url, 0, randomBytes(40_000), { owner });
          expect(patched.status, patched.body).to.equal(204);
          staleId = stale.id;
          staleExpires = (await short.sessions.find(stale.id))?.expiresAt.getTime() ?? Number.NaN;
          expect(Number.isNaN(staleExpires)).to.equal(false);
          const done = await tusUploadFile(short.tusUrl, source, { owner });
          completedId = new URL(done.url).pathname.split('/').pop() ?? '';
          completedAsset = done.assetId;
        } finally {
          await short.close();
        }
        // a fresh upload, made by a server with a long TTL on the same DATA_DIR and database
        const long = await startOwnServer(dataDir, { SESSION_TTL: '1h' });
        let freshId: string;
        try {
          const fresh = await createUpload(long.tusUrl, { owner, length: 100_000 });
          expect((await patchUpload(fresh.url, 0, randomBytes(30_000), { owner })).status).to.equal(204);
          freshId = fresh.id;
        } finally {
          await long.close();
        }
        const orphans = await plantOrphans(dataDir, uniqueOwner('nobody'));
        const freshData = await readRange(dataFileOf(dataDir, freshId), 0, 30_000);
        await waitFor(() => Date.now() > staleExpires, { what: 'the stale upload to pass its TTL', timeoutMs: 10_000 });

        const run = await runCleanupCli({ DATA_DIR: dataDir, SESSION_TTL: '2s', ORPHAN_GRACE: '1ms' });
        expect(run.code, run.stderr).to.equal(0);
        const lines = run.stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const report = lines.find((l) => l.msg === undefined) as CleanupReport | undefined;
        const logged = lines.find((l) => l.msg === 'cleanup sweep');
        expect(report, run.stdout).to.be.an('object');
        expect(logged, 'the sweep is logged with its counts and duration').to.include({
          orphanUploadFiles: 2,
          orphanAssetDirs: 1,
        });
        expect(logged?.ms).to.be.a('number');
        if (!report) return;
        expect(report.orphanUploadFiles).to.equal(2);
        expect(report.orphanAssetDirs).to.equal(1);
        if (process.env.DATABASE_URL) expect(report.expired).to.be.at.least(1);
        else expect(report.expired, 'the embedded database holds this test’s sessions only').to.equal(1);
        expect(report.ms).to.be.a('number');

        await expectQuarantined(dataDir, orphans);
        expect(await exists(dataFileOf(dataDir, staleId)), 'stale data deleted').to.equal(false);
        expect(await readRange(dataFileOf(dataDir, freshId), 0, 30_000)).to.deep.equal(freshData);
        await withStorageView(dataDir, async (view) => {
          expect((await view.sessions.find(staleId))?.status).to.equal('expired');
          const fresh = await view.sessions.find(freshId);
          expect(fresh?.status).to.equal('uploading');
          expect(fresh?.uploadOffset).to.equal(30_000);
          expect((await view.sessions.find(completedId))?.status).to.equal('completed');
          await expectAssetOf(view, completedAsset, source);
        });
      } finally {
        await removeDir(dataDir);
      }
    });
  });
});
