// Bad input to the tus endpoint: an expired upload (410, no more bytes taken) and uploads larger
// than MAX_UPLOAD_SIZE (413, nothing created).
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { createUpload, patchUpload, tusRequest } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';
import { expectStatus, expectUnchanged, partialUpload, WRITTEN } from './setup.js';

describe('bad input: an expired upload', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ SESSION_TTL: '1s' });
  });
  after(async () => {
    await server.stop();
  });

  it('answers 410 once the TTL has passed since the last byte, and takes no more bytes', async () => {
    const upload = await partialUpload(server);
    await waitFor(async () => (await tusRequest('HEAD', upload.url, { owner: upload.owner })).status === 410, {
      what: 'the upload to expire',
      intervalMs: 100,
    });
    const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), { owner: upload.owner });
    expectStatus(reply, 410);
    await expectUnchanged(server, upload);
  });
});

describe('bad input: larger than MAX_UPLOAD_SIZE', () => {
  const MAX = 64 * 1024;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ MAX_UPLOAD_SIZE: String(MAX) });
  });
  after(async () => {
    await server.stop();
  });

  it('answers 413 to a POST with Upload-Length over the limit and creates nothing', async () => {
    const owner = uniqueOwner('big');
    const reply = await tusRequest('POST', server.tusUrl, { owner, headers: { 'Upload-Length': String(MAX + 1) } });
    expectStatus(reply, 413);
    expect(await server.sessions.listByOwner(owner, { limit: 10, offset: 0 })).to.have.length(0);
  });

  it('accepts an upload of exactly the limit', async () => {
    const owner = uniqueOwner('big');
    const { url } = await createUpload(server.tusUrl, { owner, length: MAX });
    const reply = await patchUpload(url, 0, randomBytes(MAX), { owner });
    expectStatus(reply, 204);
    expect(reply.headers.get('upload-asset-id')).to.be.a('string');
  });

  it('answers 413 when a deferred upload declares a length over the limit', async () => {
    const upload = await partialUpload(server, { deferLength: true });
    const reply = await patchUpload(upload.url, WRITTEN, Buffer.alloc(0), {
      owner: upload.owner,
      headers: { 'Upload-Length': String(MAX + 1) },
    });
    expectStatus(reply, 413);
    await expectUnchanged(server, upload);
  });

  it('answers 413 when a deferred upload sends more bytes than the limit', async () => {
    const upload = await partialUpload(server, { deferLength: true });
    const reply = await patchUpload(upload.url, WRITTEN, randomBytes(MAX), { owner: upload.owner });
    expectStatus(reply, 413);
    await expectUnchanged(server, upload);
  });
});
