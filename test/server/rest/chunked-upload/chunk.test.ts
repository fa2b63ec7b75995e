// The chunked-upload session routes: POST /storage/chunked-upload/{id}/chunk (a chunk by number),
// with its success and its error types.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { sha256 } from '../../../helpers/files.js';
import { chunkOf, expectError, uniqueOwner } from '../../../helpers/rest.js';
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
});
