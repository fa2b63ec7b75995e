// Bearer JWT on the tus endpoint: no token or a bad one gets 401 with WWW-Authenticate: Bearer and
// creates or changes nothing; HEAD, PATCH and DELETE on another owner's upload get 403 and leave it
// exactly as it was.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tokenFor, uniqueOwner } from '../helpers/tokens.js';
import { createUpload, patchUpload, type Reply, tusRequest } from '../helpers/tus-http.js';
import { snapshotUpload, type UploadSnapshot } from '../helpers/uploads.js';

function expectUnauthorized(reply: Reply): void {
  expect(reply.status, reply.body).to.equal(401);
  expect(reply.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
  expect(reply.headers.get('www-authenticate')).to.match(/^Bearer\b/);
}

describe('auth on the tus endpoint', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  /** An upload of 1000 bytes owned by a fresh owner, with 100 bytes stored. */
  async function ownedUpload(): Promise<{ url: string; id: string; owner: string; before: UploadSnapshot }> {
    const owner = uniqueOwner('owner');
    const { url, id } = await createUpload(server.tusUrl, { owner, length: 1000 });
    expect((await patchUpload(url, 0, randomBytes(100), { owner })).status).to.equal(204);
    return { url, id, owner, before: await snapshotUpload(server, id) };
  }

  /** POSTs with this Authorization header (or none) and checks no upload came of it. */
  async function postWith(authorization: string | null): Promise<Reply> {
    const uploadsDir = path.join(server.dataDir, 'uploads');
    const before = await readdir(uploadsDir);
    const reply = await tusRequest('POST', server.tusUrl, {
      owner: null,
      headers: { 'Upload-Length': '10', ...(authorization ? { Authorization: authorization } : {}) },
    });
    expect(reply.headers.get('location')).to.equal(null);
    expect(await readdir(uploadsDir)).to.deep.equal(before);
    return reply;
  }

  describe('401 without a valid token', () => {
    it('answers a POST without a token with 401 and WWW-Authenticate: Bearer, creating nothing', async () => {
      expectUnauthorized(await postWith(null));
    });

    it('answers a POST with a token signed by another key with 401', async () => {
      const owner = uniqueOwner('forger');
      const forged = jwt.sign({ sub: owner }, 'a-different-secret-that-is-long-enough-0123456789', {
        algorithm: 'HS256',
        expiresIn: 600,
      });
      expectUnauthorized(await postWith(`Bearer ${forged}`));
      expect(await server.sessions.listByOwner(owner, { limit: 1, offset: 0 })).to.have.length(0);
    });

    it('answers a POST with a malformed, an expired or an unsigned token with 401', async () => {
      const owner = uniqueOwner('bad-token');
      const unsigned = jwt.sign({ sub: owner }, '', { algorithm: 'none' });
      const expired = tokenFor(owner, { expiresIn: -3600 });
      for (const token of ['not-a-jwt', expired, unsigned]) {
        expectUnauthorized(await postWith(`Bearer ${token}`));
      }
      expectUnauthorized(await postWith(`Basic ${Buffer.from('a:b').toString('base64')}`));
      expect(await server.sessions.listByOwner(owner, { limit: 1, offset: 0 })).to.have.length(0);
    });

    it('answers HEAD, PATCH and DELETE without a token with 401, changing nothing', async () => {
      const upload = await ownedUpload();
      expectUnauthorized(await tusRequest('HEAD', upload.url, { owner: null }));
      expectUnauthorized(await patchUpload(upload.url, 100, randomBytes(900), { owner: null }));
      expectUnauthorized(await tusRequest('DELETE', upload.url, { owner: null }));
      expect(await snapshotUpload(server, upload.id)).to.deep.equal(upload.before);
    });

    it('keeps the connection open after a 401 on a request without a body', async () => {
      const upload = await ownedUpload();
      for (const method of ['HEAD', 'GET']) {
        const connection = await new Promise<string | undefined>((resolve, reject) => {
          const req = http.request(upload.url, { method, headers: { 'Tus-Resumable': '1.0.0' } }, (res) => {
            expect(res.statusCode, method).to.equal(401);
            expect(res.headers['x-error-type'], 'the error type').to.equal('unauthorized');
            res.resume();
            resolve(res.headers.connection);
          });
          req.on('error', reject);
          req.end();
        });
        expect(connection, method).to.not.equal('close');
      }
    });
  });

  describe("403 on another owner's upload", () => {
    it('answers HEAD with 403 and no offset', async () => {
      const upload = await ownedUpload();
      const reply = await tusRequest('HEAD', upload.url, { owner: uniqueOwner('intruder') });
      expect(reply.status).to.equal(403);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
      expect(reply.headers.get('upload-offset')).to.equal(null);
      expect(await snapshotUpload(server, upload.id)).to.deep.equal(upload.before);
    });

    it('answers PATCH with 403 and stores none of its bytes', async () => {
      const upload = await ownedUpload();
      const reply = await patchUpload(upload.url, 100, randomBytes(900), { owner: uniqueOwner('intruder') });
      expect(reply.status, reply.body).to.equal(403);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
      expect(reply.body).to.match(/another user/);
      expect(await snapshotUpload(server, upload.id)).to.deep.equal(upload.before);
    });

    it('answers DELETE with 403 and keeps the upload', async () => {
      const upload = await ownedUpload();
      const reply = await tusRequest('DELETE', upload.url, { owner: uniqueOwner('intruder') });
      expect(reply.status, reply.body).to.equal(403);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
      expect(await snapshotUpload(server, upload.id)).to.deep.equal(upload.before);
      // the owner can still go on
      expect((await tusRequest('HEAD', upload.url, { owner: upload.owner })).headers.get('upload-offset')).to.equal(
        '100',
      );
    });
  });
});
