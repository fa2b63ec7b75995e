// The tus concatenation extension: tus-js-client with parallelUploads uploads a large file as
// partial uploads joined by a final one; a final naming someone else's part (403) or carrying
// Upload-Length (400) is refused; a final naming an unfinished part waits for it
// (concatenation-unfinished); parts count towards the per-owner creation rate limit like any upload.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { randomFile, removeDir, sha256, tempDir } from '../../helpers/files.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadSource } from '../../helpers/tus.js';
import { createUpload, headOffset, patchUpload, tusRequest, uploadIdOf } from '../../helpers/tus-http.js';
import { expectAssetOf } from '../../helpers/uploads.js';

const MiB = 1024 * 1024;

/** A finished partial upload of `data`; returns its URL. */
async function finishedPart(tusUrl: string, owner: string, data: Buffer): Promise<string> {
  const { url } = await createUpload(tusUrl, {
    owner,
    length: data.length,
    headers: { 'Upload-Concat': 'partial' },
  });
  const reply = await patchUpload(url, 0, data, { owner });
  expect(reply.status, reply.body).to.equal(204);
  expect(reply.headers.get('upload-asset-id'), 'a part is not an asset of its own').to.equal(null);
  return url;
}

function finalOf(urls: string[]): string {
  return `final;${urls.map((u) => new URL(u).pathname).join(' ')}`;
}

describe('concatenation', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeDir(dir);
  });

  describe('with the default limits', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ CHUNK_SIZE: '5MiB' });
    });
    after(async () => {
      await server.stop();
    });

    it('uploads a 64 MiB file byte-identical with tus-js-client parallelUploads: 4', async function () {
      this.timeout(90_000);
      const owner = uniqueOwner('parallel');
      const file = await randomFile(dir, 64 * MiB, 'parallel.bin');
      const source = await readFile(file);
      const partial: string[] = [];
      let finalHeader: string | undefined;
      let inFlight = 0;
      let peak = 0;
      const result = await tusUploadSource(server.tusUrl, source, {
        owner,
        parallelUploads: 4,
        // tus-js-client refuses uploadSize with parallelUploads; a Buffer source knows its size
        uploadSize: null,
        chunkSize: 8 * MiB,
        metadata: { filename: 'parallel.bin' },
        onBeforeRequest(req) {
          const concat = req.getHeader('Upload-Concat');
          if (req.getMethod() === 'POST' && concat === 'partial') partial.push(concat);
          if (req.getMethod() === 'POST' && concat?.startsWith('final;')) finalHeader = concat;
          if (req.getMethod() === 'PATCH') peak = Math.max(peak, ++inFlight);
        },
        onAfterResponse(req) {
          if (req.getMethod() === 'PATCH') inFlight--;
        },
      });
      expect(partial, 'four partial uploads were created').to.have.length(4);
      expect(finalHeader, 'a final upload joined them').to.be.a('string');
      expect(peak, 'parts were sent at the same time').to.be.greaterThan(1);
      const asset = await expectAssetOf(server, result.assetId, file);
      expect(asset.size).to.equal(64 * MiB);
      expect(asset.filename).to.equal('parallel.bin');

      const finalId = uploadIdOf(result.url);
      const session = await server.sessions.find(finalId);
      expect(session?.status).to.equal('completed');
      expect(session?.concat).to.equal('final');
      expect(session?.parts).to.have.length(4);
      expect(session?.assetId).to.equal(asset.id);
      const parts = await server.sessions.findMany(session?.parts ?? []);
      expect(parts.map((p) => p.status)).to.deep.equal(['completed', 'completed', 'completed', 'completed']);
      expect(await server.assets.listByOwner(owner, 10, 0), 'one asset, none for the parts').to.have.length(1);
      expect(await headOffset(result.url, owner)).to.equal(64 * MiB);
    });

    it('answers 403 to a final naming another user’s partial upload, and creates nothing', async () => {
      const owner = uniqueOwner('concat-owner');
      const stranger = uniqueOwner('concat-stranger');
      const mine = await finishedPart(server.tusUrl, owner, randomBytes(1000));
      const theirs = await finishedPart(server.tusUrl, stranger, randomBytes(1000));
      const reply = await tusRequest('POST', server.tusUrl, {
        owner,
        headers: { 'Upload-Concat': finalOf([mine, theirs]) },
      });
      expect(reply.status, reply.body).to.equal(403);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
      expect(reply.body).to.match(/another user/);
      expect(await server.assets.listByOwner(owner, 10, 0)).to.deep.equal([]);
      const finals = (await server.sessions.listByOwner(owner, { limit: 10, offset: 0 })).filter(
        (s) => s.concat === 'final',
      );
      expect(finals).to.deep.equal([]);
      expect(await headOffset(theirs, stranger), 'the stranger’s part is untouched').to.equal(1000);
    });

    it('makes a final naming an unfinished part wait for it, then joins it when the part finishes', async () => {
      const owner = uniqueOwner('concat-unfinished');
      const first = randomBytes(2000);
      const second = randomBytes(3000);
      const done = await finishedPart(server.tusUrl, owner, first);
      const { url: open } = await createUpload(server.tusUrl, {
        owner,
        length: 3000,
        headers: { 'Upload-Concat': 'partial' },
      });
      const some = await patchUpload(open, 0, second.subarray(0, 1000), { owner });
      expect(some.status, some.body).to.equal(204);
      const reply = await tusRequest('POST', server.tusUrl, {
        owner,
        headers: { 'Upload-Concat': finalOf([done, open]) },
      });
      expect(reply.status, reply.body).to.equal(201);
      expect(reply.headers.get('upload-asset-id'), 'not an asset before its last part finishes').to.equal(null);
      const finalUrl = new URL(reply.headers.get('location') ?? '', server.tusUrl).toString();
      expect(await server.assets.listByOwner(owner, 10, 0)).to.deep.equal([]);
      const waiting = await tusRequest('HEAD', finalUrl, { owner });
      expect(waiting.headers.get('upload-length')).to.equal('5000');
      expect(waiting.headers.get('upload-offset'), 'the final follows its parts').to.equal('3000');
      const rest = await patchUpload(open, 1000, second.subarray(1000), { owner });
      expect(rest.status, rest.body).to.equal(204);
      const joined = await tusRequest('HEAD', finalUrl, { owner });
      expect(joined.headers.get('upload-offset')).to.equal('5000');
      const assetId = joined.headers.get('upload-asset-id');
      expect(assetId, 'the final became an asset with its last part').to.be.a('string');
      const asset = await server.assets.find(assetId ?? '');
      expect(asset?.sha256).to.equal(sha256(Buffer.concat([first, second])));
    });

    it('answers 400 to a final carrying Upload-Length', async () => {
      const owner = uniqueOwner('concat-length');
      const a = await finishedPart(server.tusUrl, owner, randomBytes(1500));
      const b = await finishedPart(server.tusUrl, owner, randomBytes(1500));
      const reply = await tusRequest('POST', server.tusUrl, {
        owner,
        headers: { 'Upload-Concat': finalOf([a, b]), 'Upload-Length': '3000' },
      });
      expect(reply.status, reply.body).to.equal(400);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('validation_error');
      expect(reply.body).to.match(/Upload-Length/);
      expect(await server.assets.listByOwner(owner, 10, 0)).to.deep.equal([]);

      // the same parts still make an asset with a well-formed final
      const ok = await tusRequest('POST', server.tusUrl, { owner, headers: { 'Upload-Concat': finalOf([a, b]) } });
      expect(ok.status, ok.body).to.equal(201);
      expect(ok.headers.get('upload-asset-id')).to.be.a('string');
    });
  });

  describe('with UPLOADS_PER_HOUR=3', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ UPLOADS_PER_HOUR: '3' });
    });
    after(async () => {
      await server.stop();
    });

    it('counts partial uploads towards the rate limit like any other creation', async () => {
      const owner = uniqueOwner('concat-rate');
      const pieces = [randomBytes(1000), randomBytes(1001)];
      const urls: string[] = [];
      for (const piece of pieces) urls.push(await finishedPart(server.tusUrl, owner, piece));
      // two parts created: room for one more creation this hour, the final
      const final = await tusRequest('POST', server.tusUrl, {
        owner,
        headers: {
          'Upload-Concat': finalOf(urls),
          'Upload-Metadata': `filename ${Buffer.from('joined.bin').toString('base64')}`,
        },
      });
      expect(final.status, final.body).to.equal(201);
      const assetId = final.headers.get('upload-asset-id');
      const asset = await server.assets.find(assetId ?? '');
      expect(asset?.size).to.equal(Buffer.concat(pieces).length);
      expect(asset?.sha256, 'the parts joined in order').to.equal(sha256(Buffer.concat(pieces)));

      const part = await tusRequest('POST', server.tusUrl, {
        owner,
        headers: { 'Upload-Length': '10', 'Upload-Concat': 'partial' },
      });
      expect(part.status, 'a fourth creation, even a part, is over the limit').to.equal(429);
      expect(part.headers.get('x-error-type'), 'the error type').to.equal('rate_limited');
      expect(part.headers.get('retry-after')).to.match(/^\d+$/);
      const sessions = await server.sessions.listByOwner(owner, { limit: 10, offset: 0 });
      expect(sessions.length, 'the refused part was not created').to.equal(3);
    });
  });
});
