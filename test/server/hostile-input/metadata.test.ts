// Hostile input: header injection through the download's Content-Disposition from a file name,
// huge metadata, and text the database cannot take as it is.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { removeDir } from '../../helpers/files.js';
import { requestRawPath } from '../../helpers/raw-http.js';
import { type AssetView, bearer, type InitiateReply, uniqueOwner } from '../../helpers/rest.js';
import type { TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusMetadata, tusSend } from '../../helpers/tus-send.js';
import { startHostileServer, TUS } from './setup.js';

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

  describe('header injection through the file name', () => {
    const injected = 'a.txt\r\nX-Injected: yes\r\nSet-Cookie: session=stolen';

    async function expectOneSafeDisposition(api: StorageApi, assetId: string): Promise<void> {
      const res = await requestRawPath(server.url, 'GET', `/storage/assets/${assetId}/download`, api.headers());
      expect(res.status).to.equal(200);
      const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      expect(names).to.not.include('x-injected');
      expect(names).to.not.include('set-cookie');
      expect(names.filter((n) => n === 'content-disposition')).to.have.length(1);
      for (const value of res.rawHeaders) expect(value).to.match(/^[\x20-\x7e]*$/);
    }

    it('sends one printable Content-Disposition for a name with CR/LF given as a multipart filename*', async () => {
      const api = new StorageApi(server.url, uniqueOwner('inject'));
      const boundary = `----hostile${randomBytes(4).toString('hex')}`;
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''${encodeURIComponent(injected)}\r\n` +
            'Content-Type: text/plain\r\n\r\n',
        ),
        Buffer.from('hello'),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const reply = await api.request('POST', '/storage/upload', {
        body,
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      });
      expect(reply.status, reply.text).to.equal(201);
      await expectOneSafeDisposition(api, (JSON.parse(reply.text) as AssetView).asset_id);
    });

    it('sends one printable Content-Disposition for a name with CR/LF given in the query', async () => {
      const api = new StorageApi(server.url, uniqueOwner('inject'));
      const reply = await api.uploadRaw(Buffer.from('hello'), { filename: injected });
      expect(reply.status, reply.text).to.equal(201);
      await expectOneSafeDisposition(api, (JSON.parse(reply.text) as AssetView).asset_id);
    });
  });

  describe('huge metadata', () => {
    const LIMIT = 8 * 1024;

    it('answers 400 to tus Upload-Metadata over 8 KiB and creates nothing; one at the limit is readable back by HEAD', async () => {
      const owner = uniqueOwner('meta');
      const uploadsBefore = await readdir(path.join(dataDir, 'uploads'));
      for (const metadata of [
        { filename: 'x'.repeat(12_000) },
        Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(40)])),
      ]) {
        const header = tusMetadata(metadata);
        expect(header.length)
          .to.be.above(LIMIT)
          .and.below(16 * 1024);
        const reply = await tusSend('POST', server.tusUrl, owner, { 'Upload-Length': '10', 'Upload-Metadata': header });
        expect(reply.status, reply.text).to.equal(400);
        expect(reply.headers.get('x-error-type'), 'the error type').to.equal('validation_error');
        expect(reply.text).to.match(/metadata/i);
      }
      expect(await server.sessions.listByOwner(owner, { limit: 10, offset: 0 })).to.deep.equal([]);
      expect(await readdir(path.join(dataDir, 'uploads'))).to.deep.equal(uploadsBefore);

      // just under the limit: created, and a Node client can read it back on HEAD
      const fits = tusMetadata({ filename: 'f.bin', note: 'n'.repeat(6000) });
      expect(fits.length).to.be.at.most(LIMIT);
      const created = await tusSend('POST', server.tusUrl, owner, { 'Upload-Length': '10', 'Upload-Metadata': fits });
      expect(created.status, created.text).to.equal(201);
      const head = await tusSend(
        'HEAD',
        new URL(created.headers.get('location') ?? '', server.tusUrl).toString(),
        owner,
      );
      expect(head.status).to.equal(200);
      const echoed = (head.headers.get('upload-metadata') ?? '').split(',').sort();
      expect(echoed.join(',') === fits.split(',').sort().join(','), 'the metadata comes back whole').to.equal(true);
    });

    it('answers 431 (from Node) to headers over 16 KiB, and keeps serving', async () => {
      const reply = await requestRawPath(server.url, 'POST', '/files', {
        ...bearer(uniqueOwner('meta')),
        ...TUS,
        'Upload-Length': '10',
        'Upload-Metadata': `filename ${Buffer.from('y'.repeat(20_000)).toString('base64')}`,
      }).catch((error: Error) => ({ status: 431, body: error.message }));
      expect(reply.status).to.equal(431);
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    });

    it('answers 400 to REST metadata whose tus form would exceed 8 KiB, and 413 to a body over 64 KB', async () => {
      const owner = uniqueOwner('meta');
      const api = new StorageApi(server.url, owner);
      const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'.repeat(150)]));
      const tooMuch = await api.initiateRaw({ filename: 'a.bin', file_size: 10, asset_type: 'other', metadata: many });
      expect(tooMuch.status, tooMuch.text).to.equal(400);
      expect(JSON.parse(tooMuch.text)).to.include({ error: 'validation_error' });
      const huge = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(4000)]));
      const tooBig = await api.initiateRaw({ filename: 'a.bin', file_size: 10, asset_type: 'other', metadata: huge });
      expect(tooBig.status, tooBig.text).to.equal(413);
      expect(tooBig.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');
      const longName = await api.uploadRaw(Buffer.from('x'), { filename: 'n'.repeat(10_000) });
      expect(longName.status, longName.text).to.equal(400);
      expect(longName.headers.get('x-error-type'), 'the error type').to.equal('validation_error');
      expect(await server.sessions.listByOwner(owner, { limit: 10, offset: 0 })).to.deep.equal([]);
    });
  });

  describe('text the database cannot take as it is', () => {
    it('stores unpaired UTF-16 surrogates from a JSON body as U+FFFD instead of failing', async () => {
      const api = new StorageApi(server.url, uniqueOwner('surrogate'));
      const uploadsBefore = await readdir(path.join(dataDir, 'uploads'));
      // JSON.stringify escapes a lone surrogate as \ud800, which JSON.parse on the server turns back into one
      const reply = await api.initiateRaw({
        filename: 'a\ud800b.bin',
        file_size: 10,
        asset_type: 'other',
        content_type: '\udc00',
        metadata: { note: 'x\ud800', 'k\udfff': 'v' },
      });
      expect(reply.status, reply.text).to.equal(201);
      const id = (JSON.parse(reply.text) as InitiateReply).session_id;
      const row = await server.sessions.find(id);
      expect(row?.filename).to.equal('a\ufffdb.bin');
      expect(row?.metadata).to.include({ note: 'x\ufffd', 'k\ufffd': 'v' });
      expect((await readdir(path.join(dataDir, 'uploads'))).filter((f) => !uploadsBefore.includes(f))).to.deep.equal([
        id,
      ]);
    });
  });
});
