// The chunked-upload session routes: the pause/resume/cancel lifecycle, with its successes and its
// error types.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../../helpers/files.js';
import { chunkOf, expectError, uniqueOwner } from '../../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { StorageApi } from '../../../helpers/storage-api.js';
import { tusSend } from '../../../helpers/tus-send.js';
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

  describe('pause, resume and cancel', () => {
    async function uploading(): Promise<string> {
      const { session_id: id } = await newSession();
      await api.chunk(id, 1, chunkOf(data, 1, C));
      return id;
    }

    it('pauses an uploading session and resumes it', async () => {
      const id = await uploading();
      const paused = await api.action(id, 'pause');
      expect(paused.status).to.equal('paused');
      expect(paused.uploaded_chunks).to.deep.equal([1]);
      const resumed = await api.action(id, 'resume');
      expect(resumed.status).to.equal('uploading');
      expect(resumed.offset).to.equal(C);
      await api.sendAll(id, data, C, [2, 3]);
      expect((await api.complete(id)).sha256).to.equal(sha256(data));
    });

    it('pauses a session that has not received anything yet (initiated -> paused)', async () => {
      const { session_id: id } = await newSession();
      expect((await api.action(id, 'pause')).status).to.equal('paused');
      expect((await api.action(id, 'resume')).status).to.equal('uploading');
    });

    it('refuses to pause twice with 400 invalid_state', async () => {
      const id = await uploading();
      await api.action(id, 'pause');
      const message = expectError(await api.actionRaw(id, 'pause'), 400, 'invalid_state');
      expect(message).to.include('paused');
      expect((await api.status(id)).status).to.equal('paused');
    });

    it('refuses to resume a session that is not paused with 400 invalid_state', async () => {
      const { session_id: fresh } = await newSession();
      expectError(await api.actionRaw(fresh, 'resume'), 400, 'invalid_state');
      expect((await api.status(fresh)).status).to.equal('initiated');
      const id = await uploading();
      expect(expectError(await api.actionRaw(id, 'resume'), 400, 'invalid_state')).to.include('uploading');
      expect((await api.status(id)).status).to.equal('uploading');
    });

    it('refuses chunks and complete while paused with 400 invalid_state, and keeps what was stored', async () => {
      const id = await uploading();
      await api.chunk(id, 2, chunkOf(data, 2, C));
      await api.chunk(id, 3, chunkOf(data, 3, C));
      await api.action(id, 'pause');
      expect(expectError(await api.chunkRaw(id, 3, chunkOf(data, 3, C)), 400, 'invalid_state')).to.include('paused');
      expectError(await api.actionRaw(id, 'complete'), 400, 'invalid_state');
      const view = await api.status(id);
      expect(view.uploaded_chunks).to.deep.equal([1, 2, 3]);
      await api.action(id, 'resume');
      expect((await api.complete(id)).sha256).to.equal(sha256(data));
    });

    it('cancels: removes the data file, and tus HEAD then answers 404 or 410', async () => {
      const id = await uploading();
      expect(await exists(dataFile(id))).to.equal(true);
      const cancelled = await api.action(id, 'cancel');
      expect(cancelled.status).to.equal('cancelled');
      expect(await exists(dataFile(id)), 'data file under DATA_DIR/uploads').to.equal(false);
      expect((await api.status(id)).status).to.equal('cancelled');
      const head = await tusSend('HEAD', `${server.tusUrl}/${id}`, api.owner);
      expect(head.status).to.be.oneOf([404, 410]);
      const patch = await tusSend(
        'PATCH',
        `${server.tusUrl}/${id}`,
        api.owner,
        { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(C) },
        chunkOf(data, 2, C),
      );
      expect(patch.status).to.be.oneOf([404, 410]);
    });

    it('cancels a paused session', async () => {
      const id = await uploading();
      await api.action(id, 'pause');
      expect((await api.action(id, 'cancel')).status).to.equal('cancelled');
    });

    it('refuses every transition out of cancelled with 400 invalid_state', async () => {
      const id = await uploading();
      await api.action(id, 'cancel');
      for (const action of ['cancel', 'pause', 'resume', 'complete'] as const) {
        expect(expectError(await api.actionRaw(id, action), 400, 'invalid_state'), action).to.include('cancelled');
      }
      const chunk = await api.chunkRaw(id, 2, chunkOf(data, 2, C));
      expect(expectError(chunk, 400, 'invalid_state')).to.include('cancelled');
      expect((await api.status(id)).status).to.equal('cancelled');
    });

    it('refuses pause, resume and cancel of a completed session with 400 invalid_state', async () => {
      const small = randomBytes(10);
      const { session_id: id } = await api.initiate({ file_size: small.length });
      await api.chunk(id, 1, small);
      const asset = await api.complete(id);
      for (const action of ['pause', 'resume', 'cancel'] as const) {
        expect(expectError(await api.actionRaw(id, action), 400, 'invalid_state'), action).to.include('completed');
      }
      expect((await api.status(id)).status).to.equal('completed');
      expect((await api.download(asset.asset_id)).bytes.equals(small)).to.equal(true);
    });

    it('answers 404 not_found for an unknown session', async () => {
      for (const action of ['pause', 'resume', 'cancel'] as const) {
        expectError(await api.actionRaw('0123456789abcdef0123456789abcdef', action), 404, 'not_found');
      }
    });
  });
});
