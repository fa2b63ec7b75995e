// Bad input to the tus endpoint, one case per test: each gets its 4xx and leaves the upload's
// session row and stored bytes exactly as they were (or creates no upload at all). Also unknown,
// terminated and expired uploads, MAX_UPLOAD_SIZE, bad Upload-Metadata, and file names that try to
// leave the asset directory.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { randomFile, removeDir, tempDir } from '../helpers/files.js';
import { startTestServer, startTestServerAt, type TestServer } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import {
  createUpload,
  encodeMetadata,
  OFFSET_CONTENT_TYPE,
  patchUpload,
  type Reply,
  streamOf,
  tusRequest,
} from '../helpers/tus-http.js';
import { expectAssetOf, listFiles, snapshotUpload, type UploadSnapshot } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const LENGTH = 1000;
const WRITTEN = 100;

interface PartialUpload {
  url: string;
  id: string;
  owner: string;
  source: Buffer;
  before: UploadSnapshot;
}

/** An upload of LENGTH bytes with the first WRITTEN of them stored. */
async function partialUpload(server: TestServer, options: { deferLength?: boolean } = {}): Promise<PartialUpload> {
  const owner = uniqueOwner('bad');
  const source = randomBytes(LENGTH);
  const { url, id } = await createUpload(server.tusUrl, {
    owner,
    ...(options.deferLength ? { deferLength: true } : { length: LENGTH }),
  });
  const first = await patchUpload(url, 0, source.subarray(0, WRITTEN), { owner });
  expect(first.status, first.body).to.equal(204);
  const before = await snapshotUpload(server, id);
  expect(before.offset).to.equal(WRITTEN);
  return { url, id, owner, source, before };
}

async function expectUnchanged(server: TestServer, upload: PartialUpload): Promise<void> {
  expect(await snapshotUpload(server, upload.id)).to.deep.equal(upload.before);
}

/** The error type each status stands for in these tests (store/errors.ts has the table). */
const TYPE_OF: Record<number, string> = {
  400: 'validation_error',
  404: 'not_found',
  409: 'offset_conflict',
  410: 'gone',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** The status, and for an error its type in X-Error-Type; `bodyMatch` says the message names the culprit. */
function expectStatus(reply: Reply, status: number, bodyMatch?: RegExp): void {
  expect(reply.status, reply.body).to.equal(status);
  if (status >= 400) expect(reply.headers.get('x-error-type'), reply.body).to.equal(TYPE_OF[status]);
  if (bodyMatch) expect(reply.body).to.match(bodyMatch);
}

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

describe('bad input: file names that try to leave the asset directory', () => {
  let parent: string;
  let dataDir: string;
  let server: TestServer;
  let dir: string;
  before(async () => {
    parent = await tempDir('upload-test-jail-');
    dataDir = path.join(parent, 'data');
    await mkdir(dataDir);
    server = await startTestServerAt(dataDir);
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
    await removeDir(dir);
  });

  async function uploadNamed(filename: string): Promise<string> {
    const owner = uniqueOwner('names');
    const file = await randomFile(dir, 4321, 'named.bin');
    const result = await tusUploadFile(server.tusUrl, file, { owner, metadata: { filename } });
    const asset = await expectAssetOf(server, result.assetId, file);
    // assets/{owner}/{asset id}/{one safe segment}
    const segments = asset.storagePath.split(path.sep);
    expect(segments.slice(0, 3)).to.deep.equal(['assets', owner, asset.id]);
    expect(segments).to.have.length(4);
    const name = segments[3] ?? '';
    expect(name).to.not.match(/^\.|[/\\\0]/);
    expect(asset.filename).to.not.include('\0');
    // nothing was written beside DATA_DIR, and no directory was made from the name's parts
    expect(await readdir(parent)).to.deep.equal(['data']);
    const everything = await listFiles(parent);
    expect(everything.filter((f) => f.split(path.sep).includes('etc'))).to.deep.equal([]);
    expect(everything).to.include(path.join('data', asset.storagePath));
    return name;
  }

  it('stores a file named ../../etc/passwd under DATA_DIR/assets', async () => {
    expect(await uploadNamed('../../etc/passwd')).to.equal('passwd');
  });

  it('stores a file name with a NUL byte under DATA_DIR/assets, without the NUL', async () => {
    expect(await uploadNamed('evil\0name.bin')).to.equal('evilname.bin');
  });

  it('answers a raw POST whose metadata decodes to a NUL-laden path without a server error', async () => {
    const owner = uniqueOwner('names');
    const reply = await tusRequest('POST', server.tusUrl, {
      owner,
      headers: {
        'Upload-Length': '3',
        'Upload-Metadata': encodeMetadata({ filename: '../\0../x' }),
        'Content-Type': OFFSET_CONTENT_TYPE,
      },
      body: Buffer.from('abc'),
    });
    expectStatus(reply, 201);
    expect(reply.headers.get('upload-asset-id')).to.be.a('string');
  });
});
