// Checksums on the REST chunk route (header or ?sha256=), and a declared whole-file sha256 that does
// not match: the session fails without making an asset.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import { randomFile, readRange, removeDir, sha256, tempDir } from '../../../helpers/files.js';
import { uploadChecksum, wrongChecksum } from '../../../helpers/integrity.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { StorageApi } from '../../../helpers/storage-api.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { createUpload, patchUpload, tusRequest } from '../../../helpers/tus-http.js';
import { expectAssetOf, listFiles } from '../../../helpers/uploads.js';

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
