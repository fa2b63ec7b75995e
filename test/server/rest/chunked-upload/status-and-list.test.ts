// The chunked-upload session routes: a session's status and the per-owner list, with their
// successes and error types.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { chunkOf, expectError, type SessionView, uniqueOwner } from '../../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { StorageApi } from '../../../helpers/storage-api.js';
import { C } from './setup.js';

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

  const newSession = () => api.initiate({ filename: 'data.bin', file_size: data.length, chunk_size: C });

  describe('GET /storage/chunked-upload/{id}', () => {
    it('reports status, offset, progress and the uploaded and missing chunk numbers', async () => {
      const { session_id: id } = await newSession();
      let view = await api.status(id);
      expect(view).to.include({
        session_id: id,
        status: 'initiated',
        filename: 'data.bin',
        asset_type: 'other',
        file_size: data.length,
        offset: 0,
        progress_percent: 0,
        chunk_size: C,
        total_chunks: 3,
        upload_url: `${server.tusUrl}/${id}`,
        asset_id: null,
        completed_at: null,
      });
      expect(view.uploaded_chunks).to.deep.equal([]);
      expect(view.missing_chunks).to.deep.equal([1, 2, 3]);
      for (const field of ['created_at', 'updated_at', 'expires_at'] as const) {
        expect(new Date(view[field]).toISOString(), field).to.equal(view[field]);
      }

      await api.chunk(id, 3, chunkOf(data, 3, C));
      view = await api.status(id);
      expect(view.status).to.equal('uploading');
      expect(view.uploaded_chunks).to.deep.equal([3]);
      expect(view.missing_chunks).to.deep.equal([1, 2]);
      // the offset is the contiguous prefix: chunk 3 alone does not move it
      expect(view.offset).to.equal(0);
      expect(view.progress_percent).to.equal(0);

      await api.chunk(id, 1, chunkOf(data, 1, C));
      view = await api.status(id);
      expect(view.uploaded_chunks).to.deep.equal([1, 3]);
      expect(view.missing_chunks).to.deep.equal([2]);
      expect(view.offset).to.equal(C);
      expect(view.progress_percent).to.equal(Math.floor((C / data.length) * 10_000) / 100);
      expect(Date.parse(view.updated_at)).to.be.at.least(Date.parse(view.created_at));
    });

    it('answers 404 not_found for an unknown session', async () => {
      expectError(await api.statusRaw('0123456789abcdef0123456789abcdef'), 404, 'not_found');
    });
  });

  describe('GET /storage/chunked-upload', () => {
    it("lists only the caller's sessions, newest first, filtered by status and paged", async () => {
      const created: string[] = [];
      for (let i = 0; i < 4; i++) {
        created.push((await api.initiate({ filename: `f${i}.bin`, file_size: 10 + i })).session_id);
      }
      await api.as(uniqueOwner('bob')).initiate({ file_size: 5 });
      const [a, b, c, d] = created as [string, string, string, string];
      await api.action(b, 'cancel');
      await api.chunk(c, 1, randomBytes(12));

      const all = await api.list();
      expect(all.total).to.equal(4);
      expect(all.limit).to.equal(50);
      expect(all.offset).to.equal(0);
      expect(all.sessions.map((s) => s.session_id)).to.deep.equal([d, c, b, a]);
      expect(all.sessions[1]).to.include({ filename: 'f2.bin', status: 'uploading', offset: 12 });

      const first = await api.list('limit=2');
      expect(first.sessions.map((s) => s.session_id)).to.deep.equal([d, c]);
      expect(first).to.include({ total: 4, limit: 2, offset: 0 });
      const second = await api.list('limit=2&offset=2');
      expect(second.sessions.map((s) => s.session_id)).to.deep.equal([b, a]);
      expect(second).to.include({ total: 4, limit: 2, offset: 2 });
      const past = await api.list('limit=2&offset=4');
      expect(past.sessions).to.deep.equal([]);
      expect(past.total).to.equal(4);

      const initiated = await api.list('status=initiated');
      expect(initiated.sessions.map((s) => s.session_id)).to.deep.equal([d, a]);
      expect(initiated.total).to.equal(2);
      const cancelled = await api.list('status=cancelled');
      expect(cancelled.sessions.map((s: SessionView) => s.session_id)).to.deep.equal([b]);
      expect(cancelled.total).to.equal(1);
      const completed = await api.list('status=completed');
      expect(completed).to.deep.include({ sessions: [], total: 0 });
    });

    it('refuses a bad status, limit or offset with 400 validation_error', async () => {
      for (const query of ['status=done', 'limit=0', 'limit=201', 'limit=x', 'offset=-1', 'offset=1.5']) {
        expectError(await api.listRaw(query), 400, 'validation_error');
      }
    });
  });
});
