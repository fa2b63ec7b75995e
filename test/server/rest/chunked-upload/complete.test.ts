// The chunked-upload session routes: POST /storage/chunked-upload/{id}/complete, with its success
// and its error types.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../../helpers/files.js';
import { chunkOf, expectError, uniqueOwner } from '../../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { StorageApi } from '../../../helpers/storage-api.js';
import { C, exists } from './setup.js';

describe('REST chunked-upload sessions', () => {
  let server: TestServer;
  let api: StorageApi;
  // three chunks: C, C and a short last one
  const data = randomBytes(2 * C + 1000);

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(() => {
    api = new StorageApi(server.url, uniqueOwner('alice'));
  });

  const dataFile = (id: string) => path.join(server.dataDir, 'uploads', id);
  const newSession = () => api.initiate({ filename: 'data.bin', file_size: data.length, chunk_size: C });

  describe('POST /storage/chunked-upload/{id}/complete', () => {
    it('refuses with 400 invalid_state naming the missing chunks', async () => {
      const { session_id: id } = await newSession();
      await api.chunk(id, 1, chunkOf(data, 1, C));
      const message = expectError(await api.actionRaw(id, 'complete'), 400, 'invalid_state');
      expect(message.match(/\b\d+\b/g)).to.include.members(['2', '3']);
      expect(message).to.match(/missing/i);
      const view = await api.status(id);
      expect(view.status).to.equal('uploading');
      expect(view.asset_id).to.equal(null);
      expect(await exists(dataFile(id))).to.equal(true);
    });

    it('returns the asset once every chunk is in, and again when called twice', async () => {
      const { session_id: id } = await api.initiate({
        filename: 'data.bin',
        file_size: data.length,
        chunk_size: C,
        asset_type: 'texture',
        content_type: 'image/x-exr',
      });
      await api.sendAll(id, data, C, [2, 3, 1]);
      const asset = await api.complete(id);
      expect(asset).to.include({
        filename: 'data.bin',
        size: data.length,
        sha256: sha256(data),
        content_type: 'image/x-exr',
        asset_type: 'texture',
        session_id: id,
        download_url: `/storage/assets/${asset.asset_id}/download`,
      });
      expect(asset.asset_id).to.match(/^[0-9a-f-]{36}$/);
      expect(new Date(asset.created_at).toISOString()).to.equal(asset.created_at);

      const view = await api.status(id);
      expect(view).to.include({ status: 'completed', asset_id: asset.asset_id, progress_percent: 100 });
      expect(view.completed_at).to.be.a('string');
      expect(await exists(dataFile(id)), 'the data file moved to the asset').to.equal(false);

      expect(await api.complete(id)).to.deep.equal(asset);
      const download = await api.download(asset.asset_id);
      expect(download.status).to.equal(200);
      expect(download.bytes.equals(data)).to.equal(true);
    });

    it('completes an empty upload, which takes no chunks', async () => {
      const { session_id: id, total_chunks } = await api.initiate({ filename: 'empty.txt', file_size: 0 });
      expect(total_chunks).to.equal(0);
      expectError(await api.chunkRaw(id, 1, Buffer.alloc(0)), 400, 'invalid_chunk');
      const asset = await api.complete(id);
      expect(asset).to.include({ size: 0, sha256: sha256(Buffer.alloc(0)) });
    });

    it('answers 404 not_found for an unknown session', async () => {
      expectError(await api.actionRaw('0123456789abcdef0123456789abcdef', 'complete'), 404, 'not_found');
    });
  });
});
