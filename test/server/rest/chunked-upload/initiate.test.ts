import path from 'node:path';
import { expect } from 'chai';
import { expectError, json, uniqueOwner } from '../../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { StorageApi } from '../../../helpers/storage-api.js';
import { tusSend } from '../../../helpers/tus-send.js';
import { exists, MiB } from './setup.js';

describe('REST chunked-upload sessions', () => {
  let server: TestServer;
  let api: StorageApi;

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
});
