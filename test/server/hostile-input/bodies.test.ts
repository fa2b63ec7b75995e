// Hostile input: single-shot bodies that end early, and completing uploads that cannot become an
// asset (again). Every answer is a 4xx, never a 5xx, and nothing is left half-made.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { removeDir } from '../../helpers/files.js';
import { socketExchange } from '../../helpers/raw-http.js';
import { uniqueOwner } from '../../helpers/rest.js';
import type { TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tokenFor } from '../../helpers/tokens.js';
import { tusPatch, tusSend } from '../../helpers/tus-send.js';
import { waitFor } from '../../helpers/wait.js';
import { startHostileServer } from './setup.js';

describe('hostile input', () => {
  let parent: string;
  let dataDir: string;
  let server: TestServer;

  before(async () => {
    ({ parent, dataDir, server } = await startHostileServer());
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
  });

  describe('single-shot bodies that end early', () => {
    const uploadsNow = () => readdir(path.join(dataDir, 'uploads'));
    /** The owner's one session, once the failed write has cancelled it. */
    const cancelledSessionOf = (owner: string) =>
      waitFor(
        async () => {
          const sessions = await server.sessions.listByOwner(owner, { limit: 10, offset: 0 });
          return sessions.length === 1 && sessions[0]?.status === 'cancelled';
        },
        { what: 'the session of the cut-short body to be cancelled', timeoutMs: 5000 },
      );

    it('answers 400 to a multipart form that ends inside its file, keeps running, and leaves no session receiving', async () => {
      const api = new StorageApi(server.url, uniqueOwner('truncated'));
      const before = await uploadsNow();
      const boundary = 'cut-short';
      const truncated = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n`),
        randomBytes(5000),
      ]);
      const reply = await api.request('POST', '/storage/upload', {
        body: truncated,
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(reply.status, reply.text).to.equal(400);
      expect(JSON.parse(reply.text)).to.include({ error: 'validation_error' });
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
      await cancelledSessionOf(api.owner ?? '');
      expect(await uploadsNow()).to.deep.equal(before);
    });

    it('answers 400 to a multipart body without a usable boundary, creating nothing', async () => {
      const api = new StorageApi(server.url, uniqueOwner('boundary'));
      for (const type of ['multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; charset=x']) {
        const reply = await api.request('POST', '/storage/upload', {
          body: Buffer.from('--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc\r\n--x--\r\n'),
          headers: { 'Content-Type': type },
        });
        expect(reply.status, `${type}: ${reply.text}`).to.equal(400);
        expect(JSON.parse(reply.text)).to.include({ error: 'validation_error' });
      }
      expect(await server.sessions.listByOwner(api.owner ?? '', { limit: 10, offset: 0 })).to.deep.equal([]);
    });

    it('ends the write of a raw single-shot body whose client goes away, cancelling its session', async () => {
      const owner = uniqueOwner('gone');
      const before = await uploadsNow();
      const head = Buffer.from(
        `POST /storage/upload?filename=a.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokenFor(owner)}\r\n` +
          'Content-Length: 100000\r\n\r\n',
      );
      await socketExchange(server.url, [head, randomBytes(5000)], { endAfterWrite: true, timeoutMs: 2000 });
      await cancelledSessionOf(owner);
      const waited = performance.now();
      await server.service.writes.idle(5000);
      expect(performance.now() - waited, 'no write left waiting for bytes that never come').to.be.below(1000);
      expect(await uploadsNow()).to.deep.equal(before);
    });
  });

  describe('completing uploads that cannot become an asset (again)', () => {
    it('answers 400 to completing an upload whose asset was deleted, and makes no new asset', async () => {
      const api = new StorageApi(server.url, uniqueOwner('deleted'));
      const data = randomBytes(1000);
      const session = await api.initiate({ filename: 'gone.bin', file_size: data.length });
      await api.chunk(session.session_id, 1, data);
      const asset = await api.complete(session.session_id);
      expect((await api.deleteAssetRaw(asset.asset_id)).status).to.equal(204);
      const again = await api.actionRaw(session.session_id, 'complete');
      expect(again.status, again.text).to.equal(400);
      expect(JSON.parse(again.text)).to.include({ error: 'invalid_state' });
      expect(await server.assets.listByOwner(api.owner ?? '', 10, 0)).to.deep.equal([]);
      expect((await api.status(session.session_id)).status).to.equal('completed');
    });

    async function finishedParts(owner: string): Promise<string[]> {
      const urls: string[] = [];
      for (const fill of [1, 2]) {
        const created = await tusSend('POST', server.tusUrl, owner, {
          'Upload-Length': '100',
          'Upload-Concat': 'partial',
        });
        const url = new URL(created.headers.get('location') ?? '', server.tusUrl).toString();
        expect((await tusPatch(url, owner, 0, Buffer.alloc(100, fill))).status).to.equal(204);
        urls.push(url);
      }
      return urls;
    }
    const finalOf = (urls: string[]) => `final;${urls.map((u) => new URL(u).pathname).join(' ')}`;

    it('answers 400 to completing a part, before and after its final upload, and makes no asset of it', async () => {
      const api = new StorageApi(server.url, uniqueOwner('parts'));
      const owner = api.owner ?? '';
      const urls = await finishedParts(owner);
      const ids = urls.map((u) => u.split('/').pop() ?? '');
      const early = await api.actionRaw(ids[0] ?? '', 'complete');
      expect(early.status, early.text).to.equal(400);
      expect(JSON.parse(early.text)).to.include({ error: 'invalid_state' });

      const final = await tusSend('POST', server.tusUrl, owner, { 'Upload-Concat': finalOf(urls) });
      expect(final.status, final.text).to.equal(201);
      const assetId = final.headers.get('upload-asset-id');
      for (const id of ids) {
        const late = await api.actionRaw(id, 'complete');
        expect(late.status, late.text).to.equal(400);
        expect(JSON.parse(late.text)).to.include({ error: 'invalid_state' });
      }
      const assets = await server.assets.listByOwner(owner, 10, 0);
      expect(assets.map((a) => a.id)).to.deep.equal([assetId]);
      const download = await api.download(assetId ?? '');
      expect(download.bytes.equals(Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(100, 2)]))).to.equal(true);
    });
  });
});
