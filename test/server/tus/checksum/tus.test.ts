// The tus checksum extension: Upload-Checksum on PATCH and on POST with creation-with-upload; a
// mismatch answers 460 and keeps none of the request's bytes, an unsupported algorithm 400.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { randomFile, readRange, removeDir, sha256, tempDir } from '../../../helpers/files.js';
import { CHECKSUM_ALGORITHMS, uploadChecksum, wrongChecksum } from '../../../helpers/integrity.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { createUpload, headOffset, OFFSET_CONTENT_TYPE, patchUpload, tusRequest } from '../../../helpers/tus-http.js';
import { expectAssetOf, snapshotUpload } from '../../../helpers/uploads.js';

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
});
