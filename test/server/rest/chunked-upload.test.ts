// The chunked-upload session routes: initiate, status, chunk by number, complete, the
// pause/resume/cancel lifecycle and the per-owner list, each with its success and its error types.
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../helpers/files.js';
import { chunkOf, expectError, json, type SessionView, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusSend } from '../../helpers/tus-send.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

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

  describe('POST /storage/chunked-upload', () => {
    it('answers 201 with session_id, upload_url, chunk_size, total_chunks, status and expires_at', async () => {
      const before = Date.now();
      const reply = await api.initiateRaw({
        filename: 'scene.glb',
        file_size: 25 * MiB + 1,
        asset_type: 'model',
        content_type: 'model/gltf-binary',
        metadata: { project: 'p1' },
      });
      expect(reply.status, reply.text).to.equal(201);
      const body = json<Record<string, unknown>>(reply);
      expect(Object.keys(body).sort()).to.deep.equal(
        ['chunk_size', 'expires_at', 'session_id', 'status', 'total_chunks', 'upload_url'].sort(),
      );
      const id = String(body.session_id);
      expect(id).to.match(/^[0-9a-f]{32}$/);
      expect(body.upload_url).to.equal(`${server.tusUrl}/${id}`);
      expect(body.chunk_size).to.equal(server.config.chunkSize);
      expect(body.total_chunks).to.equal(Math.ceil((25 * MiB + 1) / server.config.chunkSize));
      expect(body.status).to.equal('initiated');
      const expires = Date.parse(String(body.expires_at));
      expect(expires).to.be.within(
        before + server.config.sessionTtlMs - 60_000,
        Date.now() + server.config.sessionTtlMs,
      );

      const view = await api.status(id);
      expect(view).to.include({
        filename: 'scene.glb',
        content_type: 'model/gltf-binary',
        asset_type: 'model',
        file_size: 25 * MiB + 1,
        offset: 0,
      });
      expect(await exists(dataFile(id)), 'the data file exists').to.equal(true);
      // the same session through tus
      const head = await tusSend('HEAD', String(body.upload_url), api.owner);
      expect(head.status).to.equal(200);
      expect(head.headers.get('upload-offset')).to.equal('0');
      expect(head.headers.get('upload-length')).to.equal(String(25 * MiB + 1));
    });

    it('takes chunk_size from the request, clamped to [5, 20] MiB', async () => {
      for (const [asked, got] of [
        [1, 5 * MiB],
        [6 * MiB, 6 * MiB],
        [100 * MiB, 20 * MiB],
      ] as const) {
        const created = await api.initiate({ file_size: 30 * MiB, chunk_size: asked });
        expect(created.chunk_size, `asked ${asked}`).to.equal(got);
        expect(created.total_chunks).to.equal(Math.ceil((30 * MiB) / got));
      }
    });

    it('refuses missing or malformed fields with 400 validation_error and creates nothing', async () => {
      const good = { filename: 'a.bin', file_size: 10, asset_type: 'other' };
      const bad: [string, unknown][] = [
        ['an empty body', {}],
        ['no filename', { ...good, filename: undefined }],
        ['an empty filename', { ...good, filename: '' }],
        ['no file_size', { ...good, file_size: undefined }],
        ['a negative file_size', { ...good, file_size: -1 }],
        ['a fractional file_size', { ...good, file_size: 1.5 }],
        ['file_size as a string', { ...good, file_size: '10' }],
        ['no asset_type', { ...good, asset_type: undefined }],
        ['a numeric asset_type', { ...good, asset_type: 7 }],
        ['a zero chunk_size', { ...good, chunk_size: 0 }],
        ['metadata with a non-string value', { ...good, metadata: { a: 1 } }],
        ['a JSON array', [good]],
      ];
      for (const [what, body] of bad) {
        const message = expectError(await api.initiateRaw(body), 400, 'validation_error');
        expect(message, what).to.match(/invalid|expected|required/i);
      }
      const notJson = await api.request('POST', '/storage/chunked-upload', {
        body: Buffer.from('{"filename": '),
        headers: { 'Content-Type': 'application/json' },
      });
      expectError(notJson, 400, 'validation_error');
      expect((await api.list()).total).to.equal(0);
    });

    it('refuses an unknown asset_type with 400 validation_error naming the known ones', async () => {
      const message = expectError(
        await api.initiateRaw({ filename: 'a.bin', file_size: 10, asset_type: 'spreadsheet' }),
        400,
        'validation_error',
      );
      expect(message).to.include('spreadsheet');
      for (const type of ['model', 'texture', 'audio', 'video', 'image', 'other']) expect(message).to.include(type);
      expect((await api.list()).total).to.equal(0);
    });
  });

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

  describe('POST /storage/chunked-upload/{id}/chunk', () => {
    it('takes chunks in any order and several at once; the offset follows the contiguous prefix', async () => {
      const { session_id: id } = await newSession();
      const views = await Promise.all([3, 2, 1].map((n) => api.chunk(id, n, chunkOf(data, n, C))));
      for (const v of views) expect(v.session_id).to.equal(id);
      const view = await api.status(id);
      expect(view.uploaded_chunks).to.deep.equal([1, 2, 3]);
      expect(view.missing_chunks).to.deep.equal([]);
      expect(view.offset).to.equal(data.length);
      expect(view.progress_percent).to.equal(100);
      const session = await server.sessions.find(id);
      for (const n of [1, 2, 3]) expect(session?.chunks[String(n)]).to.equal(sha256(chunkOf(data, n, C)));
    });

    it('refuses a chunk number outside 1..total with 400 invalid_chunk', async () => {
      const { session_id: id } = await newSession();
      for (const n of [0, -1, 4, 1000]) {
        const message = expectError(await api.chunkRaw(id, n, chunkOf(data, 1, C)), 400, 'invalid_chunk');
        expect(message, `chunk ${n}`).to.include('1 to 3');
      }
      expect((await api.status(id)).uploaded_chunks).to.deep.equal([]);
    });

    it('refuses a missing or non-integer chunk_number with 400 validation_error', async () => {
      const { session_id: id } = await newSession();
      for (const n of ['abc', '1.5', '1e400']) {
        expectError(await api.chunkRaw(id, n, chunkOf(data, 1, C)), 400, 'validation_error');
      }
      const none = await api.request('POST', `/storage/chunked-upload/${id}/chunk`, { body: chunkOf(data, 1, C) });
      expectError(none, 400, 'validation_error');
    });

    it('refuses a chunk of the wrong length with 400 invalid_chunk and records nothing', async () => {
      const { session_id: id } = await newSession();
      const cases: [number, Buffer][] = [
        [1, chunkOf(data, 1, C).subarray(0, C - 1)],
        [2, Buffer.concat([chunkOf(data, 2, C), Buffer.from([0])])],
        [3, chunkOf(data, 3, C).subarray(1)],
        [3, data.subarray(0, C)],
        [1, Buffer.alloc(0)],
      ];
      for (const [n, bytes] of cases) {
        const message = expectError(await api.chunkRaw(id, n, bytes), 400, 'invalid_chunk');
        expect(message, `chunk ${n} of ${bytes.length} bytes`).to.match(new RegExp(`chunk ${n}`));
      }
      const view = await api.status(id);
      expect(view.uploaded_chunks).to.deep.equal([]);
      expect(view.offset).to.equal(0);
    });

    it('takes a re-sent stored chunk as a no-op, and refuses different bytes for it with invalid_chunk', async () => {
      const { session_id: id } = await newSession();
      await api.chunk(id, 1, chunkOf(data, 1, C));
      await api.chunk(id, 2, chunkOf(data, 2, C));
      const before = await api.status(id);

      const again = await api.chunk(id, 2, chunkOf(data, 2, C));
      expect(again.uploaded_chunks).to.deep.equal([1, 2]);
      expect(again.offset).to.equal(2 * C);

      const other = Buffer.from(chunkOf(data, 2, C));
      other[C - 1] = (other[C - 1] ?? 0) ^ 0xff;
      const message = expectError(await api.chunkRaw(id, 2, other), 400, 'invalid_chunk');
      expect(message).to.include('chunk 2');
      const after = await api.status(id);
      expect(after.uploaded_chunks).to.deep.equal(before.uploaded_chunks);
      expect(after.offset).to.equal(before.offset);

      // the stored bytes are still the first ones
      await api.chunk(id, 3, chunkOf(data, 3, C));
      const asset = await api.complete(id);
      expect(asset.sha256).to.equal(sha256(data));
    });

    it('answers 404 not_found for an unknown session and 400 invalid_state for a completed one', async () => {
      expectError(await api.chunkRaw('0123456789abcdef0123456789abcdef', 1, chunkOf(data, 1, C)), 404, 'not_found');
      const small = randomBytes(100);
      const { session_id: id } = await api.initiate({ file_size: small.length });
      await api.chunk(id, 1, small);
      await api.complete(id);
      expectError(await api.chunkRaw(id, 1, small), 400, 'invalid_state');
    });
  });

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
