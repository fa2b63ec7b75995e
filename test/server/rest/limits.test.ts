// Upload limits on both APIs: the hourly creation rate per owner (429 rate_limited with
// Retry-After), the cap on unfinished sessions (429), and the per asset type size limit (413
// payload_too_large) at creation and, for deferred lengths, as bytes arrive.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { loadConfig } from '../../../server/config/config.js';
import { expectError, type Reply, send, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusMetadata, tusPatch, tusSend } from '../../helpers/tus-send.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function tusCreate(server: TestServer, owner: string, headers: Record<string, string>): Promise<Reply> {
  return tusSend('POST', server.tusUrl, owner, headers);
}

function locationOf(server: TestServer, reply: Reply): string {
  expect(reply.status, reply.text).to.equal(201);
  return new URL(reply.headers.get('location') ?? '', server.tusUrl).toString();
}

function expectRetryAfter(reply: Reply, max: number): number {
  const value = reply.headers.get('retry-after');
  expect(value, 'Retry-After').to.match(/^\d+$/);
  const seconds = Number(value);
  expect(seconds).to.be.within(1, max);
  return seconds;
}

describe('upload limits', () => {
  describe('creations per hour (UPLOADS_PER_HOUR=100 by default)', () => {
    let server: TestServer;
    before(async () => {
      expect(loadConfig({}).uploadsPerHour, 'the default').to.equal(100);
      server = await startTestServer({ UPLOADS_PER_HOUR: '100', MAX_ACTIVE_SESSIONS: '1000' });
    });
    after(async () => {
      await server.stop();
    });

    it('refuses the 101st creation in an hour with 429 rate_limited and Retry-After, by REST, tus and single-shot', async () => {
      const owner = uniqueOwner('grace');
      const api = new StorageApi(server.url, owner);
      // 98 by REST, one by tus, one single-shot: all count
      for (let batch = 0; batch < 98; batch += 14) {
        await Promise.all(Array.from({ length: 14 }, () => api.initiate({ file_size: 0 })));
      }
      locationOf(server, await tusCreate(server, owner, { 'Upload-Length': '0' }));
      expect((await api.uploadRaw(Buffer.from('hi'), { filename: 'hi.txt' })).status).to.equal(201);
      expect((await api.list()).total).to.equal(100);

      const rest = await api.initiateRaw({ filename: 'a.bin', file_size: 1, asset_type: 'other' });
      expect(expectError(rest, 429, 'rate_limited')).to.include('100');
      expectRetryAfter(rest, 3600);

      const tus = await tusCreate(server, owner, { 'Upload-Length': '1' });
      expect(tus.status, tus.text).to.equal(429);
      expect(tus.headers.get('x-error-type'), 'the error type').to.equal('rate_limited');
      expect(tus.headers.get('location')).to.equal(null);
      expectRetryAfter(tus, 3600);

      const single = await api.uploadRaw(Buffer.from('hi'), { filename: 'hi.txt' });
      expectError(single, 429, 'rate_limited');
      expectRetryAfter(single, 3600);

      // cancelling does not give a creation back
      const [first] = (await api.list('status=initiated&limit=1')).sessions;
      await api.action(first?.session_id ?? '', 'cancel');
      expectError(await api.initiateRaw({ filename: 'a.bin', file_size: 1, asset_type: 'other' }), 429, 'rate_limited');
      expect((await api.list()).total).to.equal(100);

      // the limit is per owner
      await api.as(uniqueOwner('heidi')).initiate({ file_size: 1 });
    });
  });

  describe('unfinished sessions (MAX_ACTIVE_SESSIONS)', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ MAX_ACTIVE_SESSIONS: '3', UPLOADS_PER_HOUR: '100' });
    });
    after(async () => {
      await server.stop();
    });

    it('refuses a creation past the cap with 429 rate_limited on both APIs, until one finishes or is cancelled', async () => {
      const owner = uniqueOwner('ivan');
      const api = new StorageApi(server.url, owner);
      const a = await api.initiate({ file_size: 1 });
      const b = await api.initiate({ file_size: 0 });
      const c = await api.initiate({ file_size: 10 });
      await api.action(c.session_id, 'pause');

      const rest = await api.initiateRaw({ filename: 'd.bin', file_size: 1, asset_type: 'other' });
      expect(expectError(rest, 429, 'rate_limited')).to.include('3');
      expectRetryAfter(rest, 3600);
      const tus = await tusCreate(server, owner, { 'Upload-Length': '1' });
      expect(tus.status, tus.text).to.equal(429);
      expectRetryAfter(tus, 3600);
      expectError(await api.uploadRaw(Buffer.from('x'), { filename: 'x' }), 429, 'rate_limited');

      await api.action(a.session_id, 'cancel');
      const d = await api.initiate({ file_size: 1 });
      expectError(await api.initiateRaw({ filename: 'e.bin', file_size: 1, asset_type: 'other' }), 429, 'rate_limited');
      await api.complete(b.session_id);
      locationOf(server, await tusCreate(server, owner, { 'Upload-Length': '1' }));
      expect(d.status).to.equal('initiated');

      // another owner has a cap of their own
      await api.as(uniqueOwner('judy')).initiate({ file_size: 1 });
    });
  });

  describe('size per asset type (ASSET_TYPE_LIMITS=image=1MiB)', () => {
    let server: TestServer;
    let owner: string;
    let api: StorageApi;
    before(async () => {
      server = await startTestServer({ ASSET_TYPE_LIMITS: 'image=1MiB' });
    });
    after(async () => {
      await server.stop();
    });
    beforeEach(() => {
      owner = uniqueOwner('kim');
      api = new StorageApi(server.url, owner);
    });

    const image = { 'Upload-Metadata': tusMetadata({ filename: 'p.png', asset_type: 'image' }) };

    it('refuses a REST session over the limit with 413 payload_too_large and takes one at the limit', async () => {
      const over = await api.initiateRaw({ filename: 'p.png', file_size: MiB + 1, asset_type: 'image' });
      const message = expectError(over, 413, 'payload_too_large');
      expect(message).to.include(String(MiB)).and.include('image');
      expect((await api.list()).total).to.equal(0);
      await api.initiate({ filename: 'p.png', file_size: MiB, asset_type: 'image' });
      // other types keep their own, larger limits
      await api.initiate({ filename: 'p.bin', file_size: MiB + 1, asset_type: 'texture' });
    });

    it('refuses a tus creation whose Upload-Length is over the limit with 413', async () => {
      const over = await tusCreate(server, owner, { 'Upload-Length': String(MiB + 1), ...image });
      expect(over.status, over.text).to.equal(413);
      expect(over.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');
      expect(over.text).to.include('image');
      expect(over.headers.get('location')).to.equal(null);
      expect((await api.list()).total).to.equal(0);
      locationOf(server, await tusCreate(server, owner, { 'Upload-Length': String(MiB), ...image }));
    });

    it('refuses a deferred-length tus upload with 413 once it grows past the limit', async () => {
      const url = locationOf(server, await tusCreate(server, owner, { 'Upload-Defer-Length': '1', ...image }));
      const data = randomBytes(MiB + 600 * KiB);
      expect((await tusPatch(url, owner, 0, data.subarray(0, 600 * KiB))).status).to.equal(204);

      const past = await tusPatch(url, owner, 600 * KiB, data.subarray(600 * KiB, 1200 * KiB));
      expect(past.status, past.text).to.equal(413);
      expect(past.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');
      const declared = await tusSend(
        'PATCH',
        url,
        owner,
        {
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Offset': String(600 * KiB),
          'Upload-Length': String(2 * MiB),
        },
        Buffer.alloc(0),
      );
      expect(declared.status, declared.text).to.equal(413);
      expect(declared.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');

      const head = await tusSend('HEAD', url, owner);
      expect(head.headers.get('upload-offset'), 'offset unchanged').to.equal(String(600 * KiB));
      expect(head.headers.get('upload-defer-length')).to.equal('1');

      // up to the limit exactly is fine
      const rest = await tusSend(
        'PATCH',
        url,
        owner,
        {
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Offset': String(600 * KiB),
          'Upload-Length': String(MiB),
        },
        data.subarray(600 * KiB, MiB),
      );
      expect(rest.status, rest.text).to.equal(204);
      const view = await api.status(url.split('/').pop() ?? '');
      expect(view).to.include({ status: 'completed', file_size: MiB });
    });

    it('refuses a deferred-length upload streamed without Content-Length once it passes the limit', async () => {
      const url = locationOf(server, await tusCreate(server, owner, { 'Upload-Defer-Length': '1', ...image }));
      const data = randomBytes(MiB + 256 * KiB);
      let at = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= data.length) {
            controller.close();
            return;
          }
          controller.enqueue(new Uint8Array(data.subarray(at, at + 64 * KiB)));
          at += 64 * KiB;
        },
      });
      const reply = await send('PATCH', url, {
        headers: {
          'Tus-Resumable': '1.0.0',
          Authorization: api.headers().Authorization ?? '',
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Offset': '0',
        },
        body,
      });
      expect(reply.status, reply.text).to.equal(413);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');
      const offset = Number((await tusSend('HEAD', url, owner)).headers.get('upload-offset'));
      expect(offset).to.be.at.most(MiB);
    });

    it('refuses an unknown asset_type in tus metadata with 400', async () => {
      const reply = await tusCreate(server, owner, {
        'Upload-Length': '10',
        'Upload-Metadata': tusMetadata({ filename: 'x', asset_type: 'spreadsheet' }),
      });
      expect(reply.status, reply.text).to.equal(400);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('validation_error');
      expect(reply.text).to.include('spreadsheet');
    });
  });
});
