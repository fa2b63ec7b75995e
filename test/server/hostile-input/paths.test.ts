// Hostile input: ids, file names and owners that try to leave DATA_DIR or break the database query
// (raw, URL-encoded, NUL, broken percent-encoding), on every route they apply to. Every answer is a
// 4xx and nothing lands outside DATA_DIR.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { removeDir } from '../../helpers/files.js';
import { requestRawPath } from '../../helpers/raw-http.js';
import { type AssetView, bearer, uniqueOwner } from '../../helpers/rest.js';
import type { TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import {
  expect4xx,
  expectNothingOutsideDataDir,
  idRoutes,
  marker,
  PATCH_HEADERS,
  startHostileServer,
  TUS,
} from './setup.js';

describe('hostile input', () => {
  let parent: string;
  let dataDir: string;
  let server: TestServer;

  before(async () => {
    ({ parent, dataDir, server } = await startHostileServer());
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
  });

  describe('ids that try to leave DATA_DIR or break the query', () => {
    const HOSTILE_IDS = [
      `..%2F..%2F${marker}`,
      `%2e%2e%2f%2e%2e%2f${marker}`,
      `..%252f..%252f${marker}`,
      `..%5C..%5C${marker}`,
      `....%2F%2F....%2F%2F${marker}`,
      '%00',
      'abc%00def',
      '0123456789abcdef0123456789abcde%00',
      '%ff%fe',
      '%',
      '%zz',
      '%C0%AE%C0%AE%2F',
      `${'a'.repeat(3000)}`,
      `'%20OR%20'1'%3D'1`,
    ];

    it('answers 4xx on every id route, for URL-encoded, NUL and broken ids, and writes nothing', async () => {
      const owner = uniqueOwner('ids');
      const auth = bearer(owner);
      for (const id of HOSTILE_IDS) {
        for (const [method, route, headers, body] of idRoutes(id)) {
          const reply = await requestRawPath(server.url, method, route, { ...auth, ...headers }, body);
          expect4xx(reply.status, `${method} ${route}: ${reply.body.slice(0, 200)}`);
        }
      }
      await expectNothingOutsideDataDir(parent, dataDir);
      expect(await server.sessions.listByOwner(owner, { limit: 10, offset: 0 })).to.deep.equal([]);
    });

    it('answers 4xx to unnormalised ../ segments in the raw request path', async () => {
      const auth = bearer(uniqueOwner('dots'));
      for (const route of [
        `/files/../../${marker}`,
        `/files/./../${marker}`,
        `/storage/chunked-upload/../../../${marker}`,
        `/storage/assets/../../${marker}/download`,
        `/files/..\\..\\${marker}`,
      ]) {
        for (const method of ['GET', 'HEAD', 'PATCH', 'DELETE', 'POST']) {
          const headers = method === 'PATCH' ? PATCH_HEADERS : TUS;
          const reply = await requestRawPath(server.url, method, route, { ...auth, ...headers }, Buffer.from('x'));
          expect4xx(reply.status, `${method} ${route}: ${reply.body.slice(0, 200)}`);
        }
      }
      await expectNothingOutsideDataDir(parent, dataDir);
    });
  });

  describe('file names and owners that try to leave DATA_DIR', () => {
    const NAMES = [
      `../../${marker}`,
      `../../../../../../../../tmp/${marker}`,
      `/etc/${marker}`,
      `..\\..\\${marker}`,
      `..%2F..%2F${marker}`,
      '..',
      '.',
      `.${marker}`,
      `${marker}/../../..`,
    ];

    it('keeps every asset under DATA_DIR/assets whatever the file name, on the REST and single-shot routes', async () => {
      const api = new StorageApi(server.url, uniqueOwner('names'));
      const data = randomBytes(100);
      for (const filename of NAMES) {
        const session = await api.initiate({ filename, file_size: data.length });
        await api.chunk(session.session_id, 1, data);
        const viaSession = await api.complete(session.session_id);
        const viaQuery = await api.uploadRaw(data, { filename });
        expect(viaQuery.status, viaQuery.text).to.equal(201);
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(data)]), filename);
        const viaForm = await api.uploadForm(form);
        expect(viaForm.status, viaForm.text).to.equal(201);
        for (const asset of [
          viaSession,
          JSON.parse(viaQuery.text) as AssetView,
          JSON.parse(viaForm.text) as AssetView,
        ]) {
          const row = await server.assets.find(asset.asset_id);
          expect(row?.storagePath.split(path.sep).slice(0, 3)).to.deep.equal(['assets', row?.ownerId, asset.asset_id]);
          expect(row?.storagePath.split(path.sep)).to.have.length(4);
          expect(row?.storagePath.split(path.sep)[3]).to.not.match(/^\.|^$/);
        }
      }
      await expectNothingOutsideDataDir(parent, dataDir);
    });

    it('keeps the asset directory of an owner named like a path under DATA_DIR/assets', async () => {
      for (const sub of [`../../${marker}`, '..', '.', `/${marker}`, `${marker}/../..`]) {
        const api = new StorageApi(server.url, sub);
        const data = randomBytes(10);
        const reply = await api.uploadRaw(data, { filename: 'f.bin' });
        expect(reply.status, reply.text).to.equal(201);
        const asset = JSON.parse(reply.text) as AssetView;
        const row = await server.assets.find(asset.asset_id);
        expect(row?.ownerId).to.equal(sub);
        const [root, ownerDir] = row?.storagePath.split(path.sep) ?? [];
        expect(root).to.equal('assets');
        expect(ownerDir).to.not.match(/^\.|^$/);
        expect((await api.download(asset.asset_id)).bytes.equals(data)).to.equal(true);
      }
      await expectNothingOutsideDataDir(parent, dataDir);
    });
  });
});
