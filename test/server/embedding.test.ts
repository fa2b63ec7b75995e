// Embedding: the package entry mounts the upload routes inside another express app (its own
// routes before and after keep working) or a plain Node HTTP server, calls in-process hooks, and
// its ChunkStore serves a plain @tus/server.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as TusServer } from '@tus/server';
import { expect } from 'chai';
import express from 'express';
import {
  type Asset,
  AssetRepository,
  ChunkStore,
  createServer,
  FileChunkStorage,
  loadConfig,
  MemoryLocker,
  type ProgressEvent,
  SessionRepository,
  StorageLayout,
  UploadPolicy,
  type UploadServer,
  UploadService,
  type UploadSession,
} from 'tus-chunk-server';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files.js';
import { LogCapture } from '../helpers/log-capture.js';
import { bearer, uniqueOwner } from '../helpers/rest.js';
import { sharedDatabase } from '../helpers/server.js';
import { TEST_JWT_SECRET } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { createUpload, tusRequest } from '../helpers/tus-http.js';
import { waitFor } from '../helpers/wait.js';

async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function closeHttp(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('embedding', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('upload-test-embed-');
  });
  after(() => removeDir(dir));

  it('mounts into another express app, with hooks, leaving the host routes alone', async () => {
    const created: UploadSession[] = [];
    const progress: ProgressEvent[] = [];
    const finished: Asset[] = [];
    const cancelled: string[] = [];
    const capture = new LogCapture('info');
    const upload: UploadServer = await createServer(
      {
        ...loadConfig({ DATA_DIR: `${dir}/embedded`, JWT_SECRET: TEST_JWT_SECRET, UPLOADS_PER_HOUR: '0' }),
        hooks: {
          onUploadCreated: (s) => void created.push(s),
          onUploadProgress: (p) => {
            progress.push(p);
            throw new Error('a broken progress hook');
          },
          onUploadFinished: async ({ asset }) => void finished.push(asset),
          onUploadCancelled: (e) => void cancelled.push(e.id),
        },
      },
      { database: await sharedDatabase(), log: capture.log },
    );
    const host = express();
    host.get('/hello', (_req, res) => void res.send('hello from the host'));
    host.use(upload.app);
    host.get('/after', (_req, res) => void res.send('still the host'));
    const { url, server } = await listen(host);
    try {
      const owner = uniqueOwner('embed');
      const file = await randomFile(dir, 300_000);
      const result = await tusUploadFile(`${url}/files`, file, { owner });
      expect(result.assetId).to.be.a('string');
      const id = result.url.split('/').pop() ?? '';
      await waitFor(() => finished.length === 1, { what: 'onUploadFinished' });
      expect(finished[0]).to.include({ id: result.assetId, sha256: await sha256File(file), size: 300_000 });
      expect(created.map((s) => s.id)).to.deep.equal([id]);
      expect(progress.at(-1)).to.include({ id, offset: 300_000 });
      expect(capture.withMessage('hook failed')[0]).to.include({ hook: 'onUploadProgress', upload_id: id });

      const other = await createUpload(`${url}/files`, { owner, length: 10 });
      await tusRequest('DELETE', other.url, { owner });
      await waitFor(() => cancelled.includes(other.id), { what: 'onUploadCancelled' });

      const status = await fetch(`${url}/storage/chunked-upload/${id}`, { headers: bearer(owner) });
      expect(await status.json()).to.include({ status: 'completed', asset_id: result.assetId });
      expect(await (await fetch(`${url}/hello`)).text()).to.equal('hello from the host');
      expect(await (await fetch(`${url}/after`)).text()).to.equal('still the host');
      expect((await fetch(`${url}/nothing-here`)).status).to.equal(404);
    } finally {
      await closeHttp(server);
      await upload.close();
    }
  });

  it('serves a plain Node HTTP server', async () => {
    const upload = await createServer(
      loadConfig({ DATA_DIR: `${dir}/plain-http`, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent' }),
      { database: await sharedDatabase() },
    );
    const { url, server } = await listen(upload.app);
    try {
      const file = await randomFile(dir, 1000, 'plain.bin');
      const result = await tusUploadFile(`${url}/files`, file, { owner: uniqueOwner('node-http') });
      expect(result.assetId).to.be.a('string');
    } finally {
      await closeHttp(server);
      await upload.close();
    }
  });

  it('lets a plain @tus/server store uploads in the ChunkStore', async () => {
    const database = await sharedDatabase();
    const layout = new StorageLayout(`${dir}/plain-tus`);
    await layout.init();
    const sessions = new SessionRepository(database.db);
    const service = new UploadService({
      storage: new FileChunkStorage(layout),
      sessions,
      assets: new AssetRepository(database.db),
      locker: new MemoryLocker(),
      policy: new UploadPolicy({
        assetTypeLimits: new Map([['other', 1024 ** 3]]),
        maxUploadSize: 0,
        uploadsPerHour: 0,
        maxActiveSessions: 0,
      }),
      defaultChunkSize: 5 * 1024 * 1024,
      sessionTtlMs: 3_600_000,
    });
    // one @tus/server per request, over a store bound to the owner the application authenticated
    const tusFor = (owner: string) => {
      const store = new ChunkStore(service, owner);
      return new TusServer({
        path: '/uploads',
        datastore: store,
        async onUploadFinish(_req, done) {
          const asset = await store.assetOf(done.id);
          return asset ? { headers: { 'Upload-Asset-Id': asset.id } } : {};
        },
      });
    };
    const { url, server } = await listen((req, res) => void tusFor('plain').handle(req, res));
    try {
      const file = await randomFile(dir, 2000, 'tus.bin');
      const result = await tusUploadFile(`${url}/uploads`, file);
      const session = await sessions.find(result.url.split('/').pop() ?? '');
      expect(session).to.include({ status: 'completed', ownerId: 'plain', assetId: result.assetId });
    } finally {
      await closeHttp(server);
    }
  });
});
