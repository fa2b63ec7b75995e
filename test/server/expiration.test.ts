// The expiration extension: Upload-Expires on POST and PATCH, counted from the last byte received,
// and a completed upload that keeps answering HEAD (200, offset = length) after its TTL, so a
// client resuming by fingerprint sees it finished.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { expectError } from '../helpers/rest.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { createUpload, patchUpload, tusRequest } from '../helpers/tus-http.js';
import { waitFor } from '../helpers/wait.js';

function expiresOf(headers: Headers): number {
  const value = headers.get('upload-expires');
  expect(value, 'Upload-Expires header').to.be.a('string');
  const time = Date.parse(value ?? '');
  expect(Number.isNaN(time), `Upload-Expires ${value} is an HTTP date`).to.equal(false);
  return time;
}

describe('expiration', () => {
  describe('Upload-Expires', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => {
      await server.stop();
    });

    it('is sent on POST and PATCH, and moves later with each PATCH', async () => {
      const owner = uniqueOwner('expires');
      const ttl = server.config.sessionTtlMs;
      const { url, id, reply } = await createUpload(server.tusUrl, { owner, length: 1000 });
      const createdAt = Date.now();
      const onPost = expiresOf(reply.headers);
      expect(onPost).to.be.closeTo(createdAt + ttl, 2000);
      const rowBefore = await server.sessions.find(id);

      // the header has one-second resolution: let a whole second pass
      await waitFor(() => Date.now() >= createdAt + 1100, { what: 'a second to pass' });
      const patchedAt = Date.now();
      const patch = await patchUpload(url, 0, randomBytes(100), { owner });
      expect(patch.status, patch.body).to.equal(204);
      const onPatch = expiresOf(patch.headers);
      expect(onPatch, 'expiry counts from the last byte').to.be.greaterThan(onPost);
      expect(onPatch).to.be.closeTo(patchedAt + ttl, 2000);

      const rowAfter = await server.sessions.find(id);
      expect(rowAfter?.expiresAt.getTime()).to.be.greaterThan(rowBefore?.expiresAt.getTime() ?? Infinity);
      // the header dates from the start of the PATCH, the row from its last byte: never later
      const rowExpiry = rowAfter?.expiresAt.getTime() ?? 0;
      expect(onPatch).to.be.at.most(rowExpiry).and.closeTo(rowExpiry, 2000);
    });
  });

  describe('with SESSION_TTL=1s', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ SESSION_TTL: '1s' });
    });
    after(async () => {
      await server.stop();
    });

    it('keeps answering HEAD 200 with Upload-Offset = Upload-Length for a completed upload past its TTL', async () => {
      const owner = uniqueOwner('expires');
      const { url, id } = await createUpload(server.tusUrl, { owner, length: 2048 });
      const done = await patchUpload(url, 0, randomBytes(2048), { owner });
      expect(done.status, done.body).to.equal(204);
      expect(done.headers.get('upload-asset-id')).to.be.a('string');
      const session = await server.sessions.find(id);
      expect(session?.status).to.equal('completed');
      const expiresAt = session?.expiresAt.getTime() ?? 0;

      await waitFor(() => Date.now() > expiresAt + 200, { what: 'the TTL to pass' });
      // a cleanup sweep leaves it alone too
      await server.service.expireStale();
      const head = await tusRequest('HEAD', url, { owner });
      expect(head.status).to.equal(200);
      expect(head.headers.get('upload-offset')).to.equal('2048');
      expect(head.headers.get('upload-length')).to.equal('2048');
      expect((await server.sessions.find(id))?.status).to.equal('completed');
    });

    it('answers 410 for an unfinished upload past its TTL (the control case)', async () => {
      const owner = uniqueOwner('expires');
      const { url } = await createUpload(server.tusUrl, { owner, length: 2048 });
      await waitFor(async () => (await tusRequest('HEAD', url, { owner })).status === 410, {
        what: 'the upload to expire',
        intervalMs: 100,
      });
    });

    it('refuses REST chunks for an upload past its TTL, which stays gone for tus', async () => {
      const owner = uniqueOwner('expires');
      const { url, id } = await createUpload(server.tusUrl, { owner, length: 2048 });
      const expiresAt = (await server.sessions.find(id))?.expiresAt.getTime() ?? 0;
      await waitFor(() => Date.now() > expiresAt, { what: 'the TTL to pass' });
      const api = new StorageApi(server.url, owner);
      const reply = await api.chunkRaw(id, 1, randomBytes(2048));
      expectError(reply, 400, 'invalid_state');
      expect((await tusRequest('HEAD', url, { owner })).status).to.equal(410);
      expect((await server.sessions.find(id))?.expiresAt.getTime()).to.equal(expiresAt);
    });
  });
});
