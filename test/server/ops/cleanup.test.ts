// The cleanup sweep, in-process (RunningServer.cleanup) and as `npm run cleanup`: with a short
// SESSION_TTL, unfinished sessions whose last byte is older than the TTL are expired (HEAD 410) and
// their data deleted; fresh and completed uploads are untouched; files on disk that no session or
// asset owns are moved into DATA_DIR/quarantine, byte for byte, and deleted from there only after
// QUARANTINE_RETENTION; the report counts what was done.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { UploadSession } from '../../../db/schema.js';
import { loadConfig } from '../../../server/config/config.js';
import type { CleanupReport } from '../../../server/ops/cleanup.js';
import { type RunningServer, startServer } from '../../../server/start.js';
import { randomFile, readRange, removeDir, tempDir } from '../../helpers/files.js';
import { runScript, type ScriptRun } from '../../helpers/scripts.js';
import { startTestServer, startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { withStorageView } from '../../helpers/storage-view.js';
import { TEST_JWT_SECRET, uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadFile } from '../../helpers/tus.js';
import { createUpload, headOffset, patchUpload, tusRequest } from '../../helpers/tus-http.js';
import { dataFileOf, expectAssetOf, snapshotUpload } from '../../helpers/uploads.js';
import { waitFor } from '../../helpers/wait.js';

const MiB = 1024 * 1024;

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

interface Orphans {
  uploads: string[];
  assetDir: string;
  /** Every planted file, relative to DATA_DIR, with its bytes. */
  files: Map<string, Buffer>;
}

/** Plants files that nothing owns: upload data files and an asset directory. Returns their paths. */
async function plantOrphans(dataDir: string, owner: string): Promise<Orphans> {
  const uploads = [
    path.join(dataDir, 'uploads', randomBytes(16).toString('hex')),
    path.join(dataDir, 'uploads', 'x.tmp'),
  ];
  const assetDir = path.join(dataDir, 'assets', owner, randomUUID());
  await mkdir(assetDir, { recursive: true });
  await mkdir(path.join(dataDir, 'uploads'), { recursive: true });
  const files = new Map<string, Buffer>();
  for (const file of [...uploads, path.join(assetDir, 'left-behind.bin')]) {
    const bytes = randomBytes(1000);
    await writeFile(file, bytes);
    files.set(path.relative(dataDir, file), bytes);
  }
  // ORPHAN_GRACE is 1 ms: let the newest of them get older than that
  const newest = Math.max(...(await Promise.all([...uploads, assetDir].map(async (f) => (await stat(f)).mtimeMs))));
  await waitFor(() => Date.now() > newest + 5, { what: 'the orphans to pass the grace period' });
  return { uploads, assetDir, files };
}

/** The sweep directories under DATA_DIR/quarantine. */
async function quarantineSweeps(dataDir: string): Promise<string[]> {
  return readdir(path.join(dataDir, 'quarantine')).catch(() => [] as string[]);
}

/**
 * Each orphan has left its place and sits, byte-identical, at the same relative path in one sweep
 * directory of DATA_DIR/quarantine, named after the sweep's time.
 */
async function expectQuarantined(dataDir: string, orphans: Orphans): Promise<string> {
  for (const file of [...orphans.uploads, orphans.assetDir]) {
    expect(await exists(file), `${file} moved out`).to.equal(false);
  }
  const sweeps = await quarantineSweeps(dataDir);
  const holding = [];
  for (const sweep of sweeps) {
    if (await exists(path.join(dataDir, 'quarantine', sweep, [...orphans.files.keys()][0] ?? ''))) holding.push(sweep);
  }
  expect(holding, `one sweep directory holds the orphans (of ${sweeps.join(', ')})`).to.have.length(1);
  const sweep = holding[0] ?? '';
  expect(sweep).to.match(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/);
  for (const [relative, bytes] of orphans.files) {
    const kept = await readFile(path.join(dataDir, 'quarantine', sweep, relative));
    expect(kept.equals(bytes), `${relative} kept byte for byte`).to.equal(true);
  }
  return sweep;
}

/** Waits until every session has passed its expiry (real time, no clock tricks). */
async function waitUntilExpired(sessions: (UploadSession | undefined)[]): Promise<void> {
  const latest = Math.max(...sessions.map((s) => s?.expiresAt.getTime() ?? Number.POSITIVE_INFINITY));
  expect(Number.isFinite(latest), 'every session exists').to.equal(true);
  await waitFor(() => Date.now() > latest + 10, { what: 'the stale sessions to pass their TTL', timeoutMs: 10_000 });
}

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

  describe('the quarantine', () => {
    it('keeps orphans for QUARANTINE_RETENTION, then deletes them; leaves what it did not put there alone', async () => {
      const dataDir = await tempDir('upload-test-quarantine-');
      const env = { ORPHAN_GRACE: '1ms', QUARANTINE_RETENTION: '1h' };
      const orphans = await plantOrphans(dataDir, uniqueOwner('nobody'));
      // not the sweep's: something an operator put into the quarantine directory
      const note = path.join(dataDir, 'quarantine', 'restore-notes', 'kept.txt');
      await mkdir(path.dirname(note), { recursive: true });
      await writeFile(note, 'moved back asset 42');
      let sweep: string;
      const keeping = await startTestServerAt(dataDir, env);
      try {
        const first = (await keeping.cleanup()) as CleanupReport;
        expect(first).to.include({ orphanUploadFiles: 2, orphanAssetDirs: 1, quarantinePurged: 0 });
        sweep = await expectQuarantined(dataDir, orphans);
        const metrics = await (await fetch(`${keeping.url}/metrics`)).text();
        expect(metrics).to.include('upload_cleanup_quarantined_total{kind="orphan_upload_files"} 2');
        expect(metrics).to.include('upload_cleanup_quarantined_total{kind="orphan_asset_dirs"} 1');

        // within the retention, later sweeps leave the quarantine as it is
        const second = (await keeping.cleanup()) as CleanupReport;
        expect(second).to.include({ orphanUploadFiles: 0, orphanAssetDirs: 0, quarantinePurged: 0 });
        expect(await expectQuarantined(dataDir, orphans)).to.equal(sweep);
      } finally {
        await keeping.close();
      }

      const short = await startTestServerAt(dataDir, { ...env, QUARANTINE_RETENTION: '50ms' });
      try {
        const sweptAt = Date.parse(sweep.replace(/T(\d\d)-(\d\d)-/, 'T$1:$2:'));
        await waitFor(() => Date.now() > sweptAt + 60, { what: 'the quarantined files to pass QUARANTINE_RETENTION' });
        const third = (await short.cleanup()) as CleanupReport;
        expect(third.quarantinePurged, 'two upload files and one asset directory').to.equal(3);
        expect(await exists(path.join(dataDir, 'quarantine', sweep)), 'the sweep directory deleted').to.equal(false);
        expect(await readFile(note, 'utf8'), 'a directory the sweep did not make is kept').to.equal(
          'moved back asset 42',
        );
        const metrics = await (await fetch(`${short.url}/metrics`)).text();
        expect(metrics).to.include('upload_cleanup_removed_total{kind="quarantine_expired"} 3');
      } finally {
        await short.stop();
      }
    });
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

/** A server with the database its configuration names (not the test run's shared one). */
async function startOwnServer(
  dataDir: string,
  env: Record<string, string>,
): Promise<RunningServer & { tusUrl: string }> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...env,
  });
  const server = await startServer(config);
  return Object.assign(server, { tusUrl: `${server.url}${config.tusPath}` });
}

/** `npm run cleanup` in the project with the given environment (and the test run's DATABASE_URL). */
function runCleanupCli(env: Record<string, string>): Promise<ScriptRun> {
  return runScript('cleanup', {
    LOG_LEVEL: 'info',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...env,
  });
}
