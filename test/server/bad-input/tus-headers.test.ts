// Bad input to the tus endpoint, one case per test: bad Tus-Resumable, PATCH and POST headers, a
// body longer than Upload-Length and unknown or terminated uploads. Each gets its 4xx and leaves the
// upload's session row and stored bytes exactly as they were (or creates no upload at all).
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { patchUpload, streamOf, tusRequest } from '../../helpers/tus-http.js';
import { snapshotUpload } from '../../helpers/uploads.js';
import { expectStatus, expectUnchanged, LENGTH, partialUpload, WRITTEN } from './setup.js';

describe('bad input on the tus endpoint', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  /** Runs `act` and checks it created no upload for `owner` and no data file. */
  async function expectNoUploadCreated(owner: string, act: () => Promise<void>): Promise<void> {
    const uploadsDir = path.join(server.dataDir, 'uploads');
    const filesBefore = await readdir(uploadsDir);
    await act();
    expect(await server.sessions.listByOwner(owner, { limit: 10, offset: 0 })).to.have.length(0);
    expect(await readdir(uploadsDir)).to.deep.equal(filesBefore);
  }

  describe('Tus-Resumable', () => {
    it('answers 412 to a PATCH without Tus-Resumable', async () => {
      const upload = await partialUpload(server);
      const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), {
        owner: upload.owner,
        headers: { 'Tus-Resumable': null },
      });
      expectStatus(reply, 412, /Tus-Resumable/);
      await expectUnchanged(server, upload);
    });

    it('answers 412 with Tus-Version to a PATCH with an unsupported Tus-Resumable', async () => {
      const upload = await partialUpload(server);
      const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), {
        owner: upload.owner,
        headers: { 'Tus-Resumable': '0.2.2' },
      });
      expectStatus(reply, 412, /Tus-Resumable/);
      expect(reply.headers.get('tus-version')).to.equal('1.0.0');
      await expectUnchanged(server, upload);
    });

    it('answers 412 to a POST without Tus-Resumable and creates nothing', async () => {
      const owner = uniqueOwner('bad');
      await expectNoUploadCreated(owner, async () => {
        const reply = await tusRequest('POST', server.tusUrl, {
          owner,
          headers: { 'Tus-Resumable': null, 'Upload-Length': '10' },
        });
        expectStatus(reply, 412, /Tus-Resumable/);
      });
    });
  });

  describe('PATCH headers', () => {
    it('answers 415 to a PATCH with the wrong Content-Type', async () => {
      const upload = await partialUpload(server);
      const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), {
        owner: upload.owner,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      expectStatus(reply, 415, /Content-Type/);
      await expectUnchanged(server, upload);
    });

    it('answers 415 to a PATCH without a Content-Type', async () => {
      const upload = await partialUpload(server);
      const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), {
        owner: upload.owner,
        headers: { 'Content-Type': null },
      });
      expectStatus(reply, 415, /Content-Type/);
      await expectUnchanged(server, upload);
    });

    it('answers 400 to a PATCH without Upload-Offset', async () => {
      const upload = await partialUpload(server);
      const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), {
        owner: upload.owner,
        headers: { 'Upload-Offset': null },
      });
      expectStatus(reply, 400, /Upload-Offset/);
      await expectUnchanged(server, upload);
    });

    it('answers 409 to a PATCH whose Upload-Offset is past the upload offset', async () => {
      const upload = await partialUpload(server);
      const reply = await patchUpload(upload.url, WRITTEN + 10, upload.source.subarray(WRITTEN + 10), {
        owner: upload.owner,
      });
      expectStatus(reply, 409);
      await expectUnchanged(server, upload);
    });

    it('answers 409 to a PATCH whose Upload-Offset is before the upload offset', async () => {
      const upload = await partialUpload(server);
      const reply = await patchUpload(upload.url, 0, Buffer.alloc(WRITTEN, 0x41), { owner: upload.owner });
      expectStatus(reply, 409);
      await expectUnchanged(server, upload);
    });

    for (const bad of ['-1', 'abc', '1e3', '']) {
      it(`answers 400 to a PATCH with Upload-Offset ${JSON.stringify(bad)}`, async () => {
        const upload = await partialUpload(server);
        const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), {
          owner: upload.owner,
          headers: { 'Upload-Offset': bad },
        });
        expectStatus(reply, 400, /Upload-Offset/);
        await expectUnchanged(server, upload);
      });
    }

    for (const bad of ['-5', 'lots']) {
      it(`answers 400 to a PATCH declaring Upload-Length ${JSON.stringify(bad)} on a deferred upload`, async () => {
        const upload = await partialUpload(server, { deferLength: true });
        const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), {
          owner: upload.owner,
          headers: { 'Upload-Length': bad },
        });
        expectStatus(reply, 400, /Upload-Length/);
        await expectUnchanged(server, upload);
      });
    }
  });

  describe('POST headers', () => {
    for (const bad of ['-1', 'abc', '10.5']) {
      it(`answers 400 to a POST with Upload-Length ${JSON.stringify(bad)} and creates nothing`, async () => {
        const owner = uniqueOwner('bad');
        await expectNoUploadCreated(owner, async () => {
          const reply = await tusRequest('POST', server.tusUrl, { owner, headers: { 'Upload-Length': bad } });
          expectStatus(reply, 400, /Upload-Length/);
        });
      });
    }

    it('answers 400 to Upload-Metadata that is not valid base64 and creates nothing', async () => {
      const owner = uniqueOwner('bad');
      await expectNoUploadCreated(owner, async () => {
        const reply = await tusRequest('POST', server.tusUrl, {
          owner,
          headers: { 'Upload-Length': '10', 'Upload-Metadata': 'filename not*base64!' },
        });
        expectStatus(reply, 400, /metadata/i);
      });
    });
  });

  describe('a body longer than Upload-Length', () => {
    it('answers 413 when Content-Length says so, storing nothing', async () => {
      const upload = await partialUpload(server);
      const tooLong = Buffer.concat([upload.source.subarray(WRITTEN), randomBytes(50)]);
      const reply = await patchUpload(upload.url, WRITTEN, tooLong, { owner: upload.owner });
      expectStatus(reply, 413);
      await expectUnchanged(server, upload);
    });

    it('rejects a chunked body that runs past the length, storing nothing past it', async () => {
      const upload = await partialUpload(server);
      const body = streamOf([upload.source.subarray(WRITTEN), randomBytes(50)]);
      const reply = await patchUpload(upload.url, WRITTEN, body, { owner: upload.owner });
      expect([400, 413], `${reply.status} ${reply.body}`).to.include(reply.status);
      const after = await snapshotUpload(server, upload.id);
      expect(after.dataSize ?? 0).to.be.at.most(LENGTH);
      await expectUnchanged(server, upload);
    });
  });

  describe('uploads that are not there', () => {
    it('answers 404 to HEAD, PATCH and DELETE on an unknown upload', async () => {
      const url = `${server.tusUrl}/${randomBytes(16).toString('hex')}`;
      expectStatus(await tusRequest('HEAD', url), 404);
      expectStatus(await patchUpload(url, 0, Buffer.from('x')), 404, /not found/);
      expectStatus(await tusRequest('DELETE', url), 404, /not found/);
    });

    it('answers 410 to HEAD and PATCH once the upload is terminated with DELETE', async () => {
      const upload = await partialUpload(server);
      expectStatus(await tusRequest('DELETE', upload.url, { owner: upload.owner }), 204);
      const terminated = await snapshotUpload(server, upload.id);
      expect(terminated.status).to.equal('cancelled');
      expect(terminated.dataSize, 'the data file is deleted').to.equal(null);

      expectStatus(await tusRequest('HEAD', upload.url, { owner: upload.owner }), 410);
      const reply = await patchUpload(upload.url, WRITTEN, upload.source.subarray(WRITTEN), { owner: upload.owner });
      expectStatus(reply, 410, /cancelled/);
      expect(await snapshotUpload(server, upload.id)).to.deep.equal(terminated);
    });
  });
});
