// The cleanup sweep, in-process (RunningServer.cleanup) and as `npm run cleanup`: with a short
// SESSION_TTL, unfinished sessions whose last byte is older than the TTL are expired (HEAD 410) and
// their data deleted; fresh and completed uploads are untouched; files on disk that no session or
// asset owns are removed; the report counts what was done.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { UploadSession } from '../../db/schema.js';
import type { CleanupReport } from '../../server/cleanup.js';
import { loadConfig } from '../../server/config.js';
import { type RunningServer, startServer } from '../../server/start.js';
import { randomFile, readRange, removeDir, tempDir } from '../helpers/files.js';
import { StorageApi } from '../helpers/rest.js';
import { ROOT, startTestServer, startTestServerAt, type TestServer } from '../helpers/server.js';
import { withStorageView } from '../helpers/storage-view.js';
import { TEST_JWT_SECRET, uniqueOwner } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { createUpload, headOffset, patchUpload, tusRequest } from '../helpers/tus-http.js';
import { dataFileOf, expectAssetOf, snapshotUpload } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Plants files that nothing owns: upload data files and an asset directory. Returns their paths. */
async function plantOrphans(dataDir: string, owner: string): Promise<{ uploads: string[]; assetDir: string }> {
  const uploads = [
    path.join(dataDir, 'uploads', randomBytes(16).toString('hex')),
    path.join(dataDir, 'uploads', 'x.tmp'),
  ];
  for (const file of uploads) await writeFile(file, randomBytes(1000));
  const assetDir = path.join(dataDir, 'assets', owner, randomUUID());
  await mkdir(assetDir, { recursive: true });
  await writeFile(path.join(assetDir, 'left-behind.bin'), randomBytes(1000));
  // ORPHAN_GRACE is 1 ms: let the newest of them get older than that
  const newest = Math.max(...(await Promise.all([...uploads, assetDir].map(async (f) => (await stat(f)).mtimeMs))));
  await waitFor(() => Date.now() > newest + 5, { what: 'the orphans to pass the grace period' });
  return { uploads, assetDir };
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

    it('expires stale sessions and deletes their data, keeps fresh and completed ones, removes orphans', async function () {
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
        const patch = await patchUpload(url, 0, randomBytes(10), { owner });
        expect(patch.status, 'an expired upload takes no bytes').to.equal(410);
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

      for (const file of [...orphans.uploads, orphans.assetDir]) {
        expect(await exists(file), `${file} removed`).to.equal(false);
      }

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

        for (const file of [...orphans.uploads, orphans.assetDir]) {
          expect(await exists(file), `${file} removed`).to.equal(false);
        }
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

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run cleanup` in the project with the given environment (and the test run's DATABASE_URL). */
async function runCleanupCli(env: Record<string, string>): Promise<CliRun> {
  const child = spawn('npm', ['run', '--silent', 'cleanup'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
