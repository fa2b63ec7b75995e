// The tus checksum extension and the whole-file sha256 check: Upload-Checksum on PATCH, on POST with
// creation-with-upload and on the REST chunk route (header or ?sha256=); a mismatch answers 460 and
// keeps none of the request's bytes, an unsupported algorithm 400, and a declared whole-file sha256
// that does not match fails the session without making an asset.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { randomFile, readRange, removeDir, sha256, tempDir } from '../../helpers/files.js';
import { CHECKSUM_ALGORITHMS, uploadChecksum, wrongChecksum } from '../../helpers/integrity.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { createUpload, headOffset, OFFSET_CONTENT_TYPE, patchUpload, tusRequest } from '../../helpers/tus-http.js';
import { expectAssetOf, listFiles, snapshotUpload } from '../../helpers/uploads.js';

const MiB = 1024 * 1024;

describe('checksums', () => {
  let server: TestServer;
  let dir: string;
  const C = 5 * MiB;

  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  describe('tus checksum extension', () => {
    it('advertises checksum in Tus-Extension and sha1, sha256, sha512, md5, crc32 in Tus-Checksum-Algorithm', async () => {
      const reply = await tusRequest('OPTIONS', server.tusUrl, { owner: null });
      expect(reply.status).to.be.oneOf([200, 204]);
      const extensions = (reply.headers.get('tus-extension') ?? '').split(',').map((e) => e.trim());
      expect(extensions).to.include('checksum');
      const algorithms = (reply.headers.get('tus-checksum-algorithm') ?? '').split(',').map((a) => a.trim());
      expect([...algorithms].sort()).to.deep.equal(['crc32', 'md5', 'sha1', 'sha256', 'sha512']);
    });

    it('answers 460 to a PATCH with a wrong checksum, changing nothing; the same bytes with the right one are accepted', async () => {
      const owner = uniqueOwner('checksum');
      const data = randomBytes(3000);
      const { url, id } = await createUpload(server.tusUrl, { owner, length: data.length });
      const first = await patchUpload(url, 0, data.subarray(0, 1000), { owner });
      expect(first.status, first.body).to.equal(204);
      const before = await snapshotUpload(server, id);
      expect(before.offset).to.equal(1000);

      const piece = data.subarray(1000, 3000);
      const wrong = await patchUpload(url, 1000, piece, {
        owner,
        headers: { 'Upload-Checksum': wrongChecksum('sha256', piece) },
      });
      expect(wrong.status, wrong.body).to.equal(460);
      expect(wrong.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
      expect(wrong.body).to.match(/checksum/i);
      expect(await headOffset(url, owner)).to.equal(1000);
      const after = await snapshotUpload(server, id);
      expect(after.offset).to.equal(before.offset);
      expect(after.chunks).to.deep.equal(before.chunks);
      expect(after.status).to.equal(before.status);

      const right = await patchUpload(url, 1000, piece, {
        owner,
        headers: { 'Upload-Checksum': uploadChecksum('sha256', piece) },
      });
      expect(right.status, right.body).to.equal(204);
      expect(right.headers.get('upload-offset')).to.equal('3000');
      const done = await snapshotUpload(server, id);
      expect(done.status).to.equal('completed');
    });

    for (const algorithm of CHECKSUM_ALGORITHMS) {
      it(`verifies ${algorithm}: a wrong digest gets 460, the right one is accepted`, async () => {
        const owner = uniqueOwner(`checksum-${algorithm}`);
        const file = await randomFile(dir, 64 * 1024 + 7, `${algorithm}.bin`);
        const data = await readRange(file, 0, 64 * 1024 + 7);
        const { url, id } = await createUpload(server.tusUrl, {
          owner,
          length: data.length,
          metadata: { filename: `${algorithm}.bin` },
        });
        const half = 32 * 1024;
        for (const [from, to] of [
          [0, half],
          [half, data.length],
        ] as const) {
          const piece = data.subarray(from, to);
          const wrong = await patchUpload(url, from, piece, {
            owner,
            headers: { 'Upload-Checksum': wrongChecksum(algorithm, piece) },
          });
          expect(wrong.status, wrong.body).to.equal(460);
          expect(wrong.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
          expect(await headOffset(url, owner)).to.equal(from);
          const right = await patchUpload(url, from, piece, {
            owner,
            headers: { 'Upload-Checksum': uploadChecksum(algorithm, piece) },
          });
          expect(right.status, right.body).to.equal(204);
          expect(right.headers.get('upload-offset')).to.equal(String(to));
          if (to === data.length) await expectAssetOf(server, right.headers.get('upload-asset-id'), file);
        }
        expect((await server.sessions.find(id))?.status).to.equal('completed');
      });
    }

    it('answers 400 to an unsupported or malformed Upload-Checksum and 460 to one of the wrong length, changing nothing', async () => {
      const owner = uniqueOwner('checksum-bad');
      const data = randomBytes(500);
      const { url, id } = await createUpload(server.tusUrl, { owner, length: data.length });
      const before = await snapshotUpload(server, id);
      for (const header of [
        `sha384 ${randomBytes(48).toString('base64')}`,
        `blake3 ${randomBytes(32).toString('base64')}`,
        'sha256',
        'sha256 not*base64',
      ]) {
        const reply = await patchUpload(url, 0, data, { owner, headers: { 'Upload-Checksum': header } });
        expect(reply.status, `${header}: ${reply.body}`).to.equal(400);
        expect(reply.headers.get('x-error-type'), 'the error type').to.equal('validation_error');
        expect(reply.body).to.match(/checksum/i);
      }
      // well-formed base64 of the wrong length for the algorithm can never match: a mismatch
      const short = await patchUpload(url, 0, data, {
        owner,
        headers: { 'Upload-Checksum': `sha256 ${randomBytes(20).toString('base64')}` },
      });
      expect(short.status, short.body).to.equal(460);
      expect(short.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
      const unsupported = await patchUpload(url, 0, data, {
        owner,
        headers: { 'Upload-Checksum': `sha384 ${randomBytes(48).toString('base64')}` },
      });
      expect(unsupported.headers.get('x-error-type'), 'the error type').to.equal('validation_error');
      expect(unsupported.body).to.match(/not supported/);
      expect(await headOffset(url, owner)).to.equal(0);
      const after = await snapshotUpload(server, id);
      expect(after.offset).to.equal(0);
      expect(after.chunks).to.deep.equal(before.chunks);
    });

    it('records no chunk when a PATCH crossing a chunk boundary has a wrong checksum', async () => {
      const owner = uniqueOwner('checksum-boundary');
      const size = 2 * C + 1234;
      const file = await randomFile(dir, size, 'boundary.bin');
      const { url, id } = await createUpload(server.tusUrl, { owner, length: size, metadata: { filename: 'b.bin' } });
      const piece = await readRange(file, 0, C + MiB);
      const wrong = await patchUpload(url, 0, piece, {
        owner,
        headers: { 'Upload-Checksum': wrongChecksum('md5', piece) },
      });
      expect(wrong.status, wrong.body).to.equal(460);
      expect(wrong.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
      const after = await snapshotUpload(server, id);
      expect(after.offset).to.equal(0);
      expect(after.chunks).to.deep.equal({});
      expect(await headOffset(url, owner)).to.equal(0);

      const right = await patchUpload(url, 0, piece, {
        owner,
        headers: { 'Upload-Checksum': uploadChecksum('md5', piece) },
      });
      expect(right.status, right.body).to.equal(204);
      const recorded = await snapshotUpload(server, id);
      expect(recorded.offset).to.equal(C + MiB);
      expect(recorded.chunks).to.deep.equal({ 1: sha256(piece.subarray(0, C)) });

      const rest = await readRange(file, C + MiB, size);
      const last = await patchUpload(url, C + MiB, rest, {
        owner,
        headers: { 'Upload-Checksum': uploadChecksum('crc32', rest) },
      });
      expect(last.status, last.body).to.equal(204);
      await expectAssetOf(server, last.headers.get('upload-asset-id'), file);
    });

    it('checks Upload-Checksum on POST with creation-with-upload', async () => {
      const owner = uniqueOwner('checksum-post');
      const data = randomBytes(10_000);
      const body = data.subarray(0, 4000);
      const post = (checksum: string) =>
        tusRequest('POST', server.tusUrl, {
          owner,
          body,
          headers: {
            'Upload-Length': String(data.length),
            'Upload-Metadata': `filename ${Buffer.from('post.bin').toString('base64')}`,
            'Content-Type': OFFSET_CONTENT_TYPE,
            'Upload-Checksum': checksum,
          },
        });

      const wrong = await post(wrongChecksum('sha1', body));
      expect(wrong.status, wrong.body).to.equal(460);
      expect(wrong.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
      // the client got no Location to resume: the upload it would have created is not left behind
      const kept = await server.sessions.listByOwner(owner, { limit: 10, offset: 0 });
      expect(kept.map((s) => s.status)).to.deep.equal(['cancelled']);
      expect(kept[0]?.uploadOffset, 'no byte of the refused body is kept').to.equal(0);
      expect(kept.filter((s) => s.status !== 'cancelled')).to.deep.equal([]);

      const right = await post(uploadChecksum('sha1', body));
      expect(right.status, right.body).to.equal(201);
      expect(right.headers.get('upload-offset')).to.equal('4000');
      const location = right.headers.get('location');
      expect(location).to.be.a('string');
      const url = new URL(location ?? '', server.tusUrl).toString();
      expect(await headOffset(url, owner)).to.equal(4000);
      const rest = data.subarray(4000);
      const finish = await patchUpload(url, 4000, rest, {
        owner,
        headers: { 'Upload-Checksum': uploadChecksum('sha1', rest) },
      });
      expect(finish.status, finish.body).to.equal(204);
      expect(finish.headers.get('upload-asset-id')).to.be.a('string');
    });
  });

  describe('REST chunk route', () => {
    it('checks Upload-Checksum and ?sha256= per chunk: a mismatch gets 460 and records nothing', async () => {
      const owner = uniqueOwner('checksum-rest');
      const api = new StorageApi(server.url, owner);
      const size = 2 * C + 4321;
      const file = await randomFile(dir, size, 'rest.bin');
      const session = await api.initiate({ filename: 'rest.bin', file_size: size, chunk_size: C });
      const id = session.session_id;
      const chunk = async (n: number) => readRange(file, (n - 1) * C, Math.min(size, n * C));
      const post = (n: number, body: Buffer, query = '', headers: Record<string, string> = {}) =>
        api.request('POST', `/storage/chunked-upload/${id}/chunk?chunk_number=${n}${query}`, { body, headers });
      const recorded = async () => Object.keys((await server.sessions.find(id))?.chunks ?? {}).sort();

      const one = await chunk(1);
      const badHeader = await post(1, one, '', { 'Upload-Checksum': wrongChecksum('sha256', one) });
      expect(badHeader.status, badHeader.text).to.equal(460);
      expect(JSON.parse(badHeader.text)).to.include({ error: 'checksum_mismatch' });
      expect(await recorded()).to.deep.equal([]);

      const wrongHex = sha256(Buffer.concat([one, Buffer.from('x')]));
      const badQuery = await post(1, one, `&sha256=${wrongHex}`);
      expect(badQuery.status, badQuery.text).to.equal(460);
      expect(JSON.parse(badQuery.text)).to.include({ error: 'checksum_mismatch' });
      expect(await recorded()).to.deep.equal([]);
      expect((await server.sessions.find(id))?.uploadOffset).to.equal(0);

      const goodHeader = await post(1, one, '', { 'Upload-Checksum': uploadChecksum('crc32', one) });
      expect(goodHeader.status, goodHeader.text).to.equal(200);
      expect(await recorded()).to.deep.equal(['1']);

      const three = await chunk(3);
      const goodQuery = await post(3, three, `&sha256=${sha256(three)}`);
      expect(goodQuery.status, goodQuery.text).to.equal(200);
      expect(await recorded()).to.deep.equal(['1', '3']);

      const two = await chunk(2);
      const badTwo = await post(2, two, `&sha256=${sha256(one)}`);
      expect(badTwo.status, badTwo.text).to.equal(460);
      expect(badTwo.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
      expect(await recorded()).to.deep.equal(['1', '3']);
      expect((await server.sessions.find(id))?.uploadOffset).to.equal(C);

      const unsupported = await post(2, two, '', { 'Upload-Checksum': `sha384 ${randomBytes(48).toString('base64')}` });
      expect(unsupported.status, unsupported.text).to.equal(400);
      expect(unsupported.headers.get('x-error-type'), 'the error type').to.equal('validation_error');

      const goodTwo = await post(2, two, `&sha256=${sha256(two)}`);
      expect(goodTwo.status, goodTwo.text).to.equal(200);
      const asset = await api.complete(id);
      await expectAssetOf(server, asset.asset_id, file);
    });
  });

  describe('declared whole-file sha256', () => {
    it('fails the session with a clear error, and makes no asset, when the declared sha256 is wrong', async () => {
      const owner = uniqueOwner('whole-wrong');
      const size = C + 100_000;
      const file = await randomFile(dir, size, 'whole-wrong.bin');
      const data = await readRange(file, 0, size);
      const declared = sha256(Buffer.concat([data, Buffer.from('!')]));
      const { url, id } = await createUpload(server.tusUrl, {
        owner,
        length: size,
        metadata: { filename: 'whole-wrong.bin', sha256: declared },
      });
      const part = await patchUpload(url, 0, data.subarray(0, C + 1), { owner });
      expect(part.status, part.body).to.equal(204);
      const finishing = await patchUpload(url, C + 1, data.subarray(C + 1), { owner });
      expect(finishing.status, finishing.body).to.equal(460);
      expect(finishing.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
      expect(finishing.body).to.include(declared);
      expect(finishing.headers.get('upload-asset-id')).to.equal(null);

      const session = await server.sessions.find(id);
      expect(session?.status).to.equal('failed');
      expect(session?.error ?? '')
        .to.match(/sha256/)
        .and.include(declared)
        .and.match(/no asset/);
      expect(await server.assets.findBySession(id)).to.equal(undefined);
      expect(await server.assets.listByOwner(owner, 10, 0)).to.deep.equal([]);
      const assetFiles = await listFiles(path.join(server.dataDir, 'assets'));
      expect(assetFiles.filter((f) => f.split(path.sep)[0] === owner)).to.deep.equal([]);
      const head = await tusRequest('HEAD', url, { owner });
      expect(head.status, 'a failed upload is gone').to.equal(410);
      expect(head.headers.get('x-error-type'), 'the error type').to.equal('gone');
    });

    it('makes the asset when the declared sha256 is right (any case)', async () => {
      const owner = uniqueOwner('whole-right');
      const size = C + 100_000;
      const file = await randomFile(dir, size, 'whole-right.bin');
      const data = await readRange(file, 0, size);
      const { url, id } = await createUpload(server.tusUrl, {
        owner,
        length: size,
        metadata: { filename: 'whole-right.bin', sha256: sha256(data).toUpperCase() },
      });
      const part = await patchUpload(url, 0, data.subarray(0, 1000), { owner });
      expect(part.status, part.body).to.equal(204);
      const finishing = await patchUpload(url, 1000, data.subarray(1000), { owner });
      expect(finishing.status, finishing.body).to.equal(204);
      await expectAssetOf(server, finishing.headers.get('upload-asset-id'), file);
      expect((await server.sessions.find(id))?.status).to.equal('completed');
    });
  });
});
