// Hostile input, one classic attack per test, each on every route it applies to: ids that try to
// leave DATA_DIR or break the database query (raw, URL-encoded, NUL, broken percent-encoding),
// file names and token subjects that try the same, header injection through the download's
// Content-Disposition from a multipart or query file name, huge metadata, a token whose subject
// the database cannot hold, one user trying every other user's ids (real and guessed), and
// SQL-looking names and parameters. Every answer is a 4xx (never a 5xx), nothing lands outside
// DATA_DIR, and nobody else's upload or asset changes. (alg none, HS256 over the RS256 public key
// and the other token forgeries are in routes/auth.test.ts; ../ and NUL in tus metadata file
// names in bad-input.test.ts.)
import { randomBytes, randomUUID } from 'node:crypto';
import { access, mkdir, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { removeDir, sha256, tempDir } from '../helpers/files.js';
import { requestRawPath, socketExchange } from '../helpers/raw-http.js';
import { type AssetView, bearer, expectError, type InitiateReply, type Reply, uniqueOwner } from '../helpers/rest.js';
import { startTestServerAt, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { tokenFor } from '../helpers/tokens.js';
import { tusMetadata, tusPatch, tusSend } from '../helpers/tus-send.js';
import { listFiles, snapshotUpload, type UploadSnapshot } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const TUS = { 'Tus-Resumable': '1.0.0' };
const PATCH_HEADERS = { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' };

/** Every route that takes an id in its path, as [method, path, extra headers, body]. */
function idRoutes(id: string): [string, string, Record<string, string>, Buffer?][] {
  return [
    ['GET', `/storage/chunked-upload/${id}`, {}],
    ['POST', `/storage/chunked-upload/${id}/chunk?chunk_number=1`, {}, Buffer.from('x')],
    ['POST', `/storage/chunked-upload/${id}/complete`, {}],
    ['POST', `/storage/chunked-upload/${id}/pause`, {}],
    ['POST', `/storage/chunked-upload/${id}/resume`, {}],
    ['POST', `/storage/chunked-upload/${id}/cancel`, {}],
    ['GET', `/storage/chunked-upload/${id}/events`, {}],
    ['GET', `/storage/assets/${id}`, {}],
    ['GET', `/storage/assets/${id}/download`, { Range: 'bytes=0-9' }],
    ['DELETE', `/storage/assets/${id}`, {}],
    ['HEAD', `/files/${id}`, TUS],
    ['PATCH', `/files/${id}`, PATCH_HEADERS, Buffer.from('x')],
    ['DELETE', `/files/${id}`, TUS],
    ['GET', `/files/${id}`, TUS],
  ];
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe('hostile input', () => {
  let parent: string;
  let dataDir: string;
  let server: TestServer;
  // a name no test writes on purpose: finding it anywhere means a path escaped
  const marker = `escaped-${randomBytes(6).toString('hex')}`;

  before(async () => {
    parent = await tempDir('upload-test-hostile-');
    dataDir = path.join(parent, 'data');
    await mkdir(dataDir);
    server = await startTestServerAt(dataDir, { CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
  });

  /** Nothing beside DATA_DIR, nothing in it but its own entries, no marker anywhere reachable. */
  async function expectNothingOutsideDataDir(): Promise<void> {
    expect(await readdir(parent)).to.deep.equal(['data']);
    const top = await readdir(dataDir);
    expect(top.filter((name) => !['uploads', 'assets', 'pglite', 'jwt-secret'].includes(name))).to.deep.equal([]);
    for (const dir of [parent, path.dirname(parent), os.tmpdir(), '/', '/etc', '/tmp']) {
      expect(await exists(path.join(dir, marker)), `${dir}/${marker}`).to.equal(false);
    }
    const everything = await listFiles(dataDir);
    expect(everything.filter((f) => f.includes(marker) && !f.startsWith(`assets${path.sep}`))).to.deep.equal([]);
    for (const file of everything.filter((f) => f.startsWith(`assets${path.sep}`))) {
      // assets/{owner}/{asset id}/{one file name}
      expect(file.split(path.sep), file).to.have.length(4);
    }
  }

  function expect4xx(status: number, what: string): void {
    expect(status, what).to.be.within(400, 499);
  }

  describe('ids that try to leave DATA_DIR or break the query', () => {
    const HOSTILE_IDS = [
      `..%2F..%2F${marker}`,
      `%2e%2e%2f%2e%2e%2f${marker}`,
      `..%252f..%252f${marker}`,
      `..%5C..%5C${marker}`,
      `....%2F%2F....%2F%2F${marker}`,
      '%00',
      'abc%00def',
      '0123456789abcdef0123456789abcde%00',
      '%ff%fe',
      '%',
      '%zz',
      '%C0%AE%C0%AE%2F',
      `${'a'.repeat(3000)}`,
      `'%20OR%20'1'%3D'1`,
    ];

    it('answers 4xx on every id route, for URL-encoded, NUL and broken ids, and writes nothing', async () => {
      const owner = uniqueOwner('ids');
      const auth = bearer(owner);
      for (const id of HOSTILE_IDS) {
        for (const [method, route, headers, body] of idRoutes(id)) {
          const reply = await requestRawPath(server.url, method, route, { ...auth, ...headers }, body);
          expect4xx(reply.status, `${method} ${route}: ${reply.body.slice(0, 200)}`);
        }
      }
      await expectNothingOutsideDataDir();
      expect(await server.sessions.listByOwner(owner, { limit: 10, offset: 0 })).to.deep.equal([]);
    });

    it('answers 4xx to unnormalised ../ segments in the raw request path', async () => {
      const auth = bearer(uniqueOwner('dots'));
      for (const route of [
        `/files/../../${marker}`,
        `/files/./../${marker}`,
        `/storage/chunked-upload/../../../${marker}`,
        `/storage/assets/../../${marker}/download`,
        `/files/..\\..\\${marker}`,
      ]) {
        for (const method of ['GET', 'HEAD', 'PATCH', 'DELETE', 'POST']) {
          const headers = method === 'PATCH' ? PATCH_HEADERS : TUS;
          const reply = await requestRawPath(server.url, method, route, { ...auth, ...headers }, Buffer.from('x'));
          expect4xx(reply.status, `${method} ${route}: ${reply.body.slice(0, 200)}`);
        }
      }
      await expectNothingOutsideDataDir();
    });
  });

  describe('file names and owners that try to leave DATA_DIR', () => {
    const NAMES = [
      `../../${marker}`,
      `../../../../../../../../tmp/${marker}`,
      `/etc/${marker}`,
      `..\\..\\${marker}`,
      `..%2F..%2F${marker}`,
      '..',
      '.',
      `.${marker}`,
      `${marker}/../../..`,
    ];

    it('keeps every asset under DATA_DIR/assets whatever the file name, on the REST and single-shot routes', async () => {
      const api = new StorageApi(server.url, uniqueOwner('names'));
      const data = randomBytes(100);
      for (const filename of NAMES) {
        const session = await api.initiate({ filename, file_size: data.length });
        await api.chunk(session.session_id, 1, data);
        const viaSession = await api.complete(session.session_id);
        const viaQuery = await api.uploadRaw(data, { filename });
        expect(viaQuery.status, viaQuery.text).to.equal(201);
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(data)]), filename);
        const viaForm = await api.uploadForm(form);
        expect(viaForm.status, viaForm.text).to.equal(201);
        for (const asset of [
          viaSession,
          JSON.parse(viaQuery.text) as AssetView,
          JSON.parse(viaForm.text) as AssetView,
        ]) {
          const row = await server.assets.find(asset.asset_id);
          expect(row?.storagePath.split(path.sep).slice(0, 3)).to.deep.equal(['assets', row?.ownerId, asset.asset_id]);
          expect(row?.storagePath.split(path.sep)).to.have.length(4);
          expect(row?.storagePath.split(path.sep)[3]).to.not.match(/^\.|^$/);
        }
      }
      await expectNothingOutsideDataDir();
    });

    it('keeps the asset directory of an owner named like a path under DATA_DIR/assets', async () => {
      for (const sub of [`../../${marker}`, '..', '.', `/${marker}`, `${marker}/../..`]) {
        const api = new StorageApi(server.url, sub);
        const data = randomBytes(10);
        const reply = await api.uploadRaw(data, { filename: 'f.bin' });
        expect(reply.status, reply.text).to.equal(201);
        const asset = JSON.parse(reply.text) as AssetView;
        const row = await server.assets.find(asset.asset_id);
        expect(row?.ownerId).to.equal(sub);
        const [root, ownerDir] = row?.storagePath.split(path.sep) ?? [];
        expect(root).to.equal('assets');
        expect(ownerDir).to.not.match(/^\.|^$/);
        expect((await api.download(asset.asset_id)).bytes.equals(data)).to.equal(true);
      }
      await expectNothingOutsideDataDir();
    });
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

  describe('tokens', () => {
    it('answers 401 to a correctly signed token whose subject the database cannot hold (NUL), creating nothing', async () => {
      const uploadsBefore = await readdir(path.join(dataDir, 'uploads'));
      for (const sub of ['a\u0000b', '\u0000']) {
        const token = tokenFor(sub);
        const list = await requestRawPath(server.url, 'GET', '/storage/chunked-upload', bearer(sub, token));
        expect(list.status, list.body).to.equal(401);
        expect(list.headers['x-error-type'], 'the error type').to.equal('unauthorized');
        const created = await tusSend('POST', server.tusUrl, null, {
          ...bearer(sub, token),
          'Upload-Length': '3',
        });
        expect(created.status, created.text).to.equal(401);
        expect(created.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
      }
      expect(await readdir(path.join(dataDir, 'uploads'))).to.deep.equal(uploadsBefore);
    });
  });

  describe("one user trying every other user's ids", () => {
    interface Victim {
      api: StorageApi;
      tusUpload: { id: string; url: string };
      session: InitiateReply;
      asset: AssetView;
      data: Buffer;
    }

    async function victim(name: string): Promise<Victim> {
      const api = new StorageApi(server.url, uniqueOwner(name));
      const owner = api.owner ?? '';
      const data = randomBytes(3000);
      const created = await tusSend('POST', server.tusUrl, owner, {
        'Upload-Length': String(data.length),
        'Upload-Metadata': tusMetadata({ filename: `${name}-secret-tus.bin` }),
      });
      expect(created.status).to.equal(201);
      const url = new URL(created.headers.get('location') ?? '', server.tusUrl).toString();
      expect((await tusPatch(url, owner, 0, data.subarray(0, 1000))).status).to.equal(204);
      const session = await api.initiate({ filename: `${name}-secret-rest.bin`, file_size: data.length });
      const done = await api.initiate({ filename: `${name}-secret-asset.bin`, file_size: data.length });
      await api.chunk(done.session_id, 1, data);
      const asset = await api.complete(done.session_id);
      return { api, tusUpload: { id: url.split('/').pop() ?? '', url }, session, asset, data };
    }

    /** Variations of a real id an attacker might guess from it. */
    function guessesFrom(id: string): string[] {
      const last = id.at(-1) ?? '0';
      const bumped = (Number.parseInt(last, 16) + 1) % 16;
      return [
        `${id.slice(0, -1)}${bumped.toString(16)}`,
        id.toUpperCase(),
        `${id}0`,
        id.slice(0, -1),
        `%20${id}`,
        encodeURIComponent(`${id}/`),
        `${id}%20`,
      ];
    }

    it('gets 403 or 404 everywhere, learns nothing, and changes nothing', async function () {
      this.timeout(30_000);
      const victims = [await victim('vera'), await victim('victor'), await victim('vince')];
      const snapshots = new Map<string, UploadSnapshot>();
      for (const v of victims) {
        for (const id of [v.tusUpload.id, v.session.session_id, v.asset.session_id ?? '']) {
          snapshots.set(id, await snapshotUpload(server, id));
        }
      }
      const mallory = victims[0]?.api.as(uniqueOwner('mallory')) ?? new StorageApi(server.url, 'mallory');
      const auth = mallory.headers();

      const ids: string[] = [];
      for (const v of victims) {
        ids.push(v.tusUpload.id, v.session.session_id, v.asset.session_id ?? '', v.asset.asset_id);
        ids.push(...guessesFrom(v.tusUpload.id), ...guessesFrom(v.asset.asset_id));
      }
      ids.push(
        '0'.repeat(32),
        'f'.repeat(32),
        randomBytes(16).toString('hex'),
        randomUUID(),
        '00000000-0000-0000-0000-000000000000',
        '1',
        '*',
      );
      const secrets = victims.flatMap((v) => [
        v.api.owner ?? '',
        'secret-tus',
        'secret-rest',
        'secret-asset',
        v.data.subarray(0, 32).toString('latin1'),
      ]);
      const seen: number[] = [];
      for (const id of ids) {
        for (const [method, route, headers, body] of idRoutes(id)) {
          const reply = await requestRawPath(server.url, method, route, { ...auth, ...headers }, body);
          seen.push(reply.status);
          expect([400, 403, 404], `${method} ${route}: ${reply.status} ${reply.body.slice(0, 200)}`).to.include(
            reply.status,
          );
          for (const secret of secrets) expect(reply.body, `${method} ${route}`).to.not.include(secret);
        }
      }
      expect(seen.filter((s) => s === 403).length, 'the real ids are refused as forbidden').to.be.above(0);

      // a final upload made of someone else's parts, and listings, show nothing either
      const final = await tusSend('POST', server.tusUrl, mallory.owner, {
        'Upload-Concat': `final;/files/${victims[0]?.tusUpload.id}`,
      });
      expect([400, 403]).to.include(final.status);
      expect((await mallory.list()).total).to.equal(0);
      expect(await server.assets.listByOwner(mallory.owner ?? '', 10, 0)).to.deep.equal([]);

      for (const [id, before] of snapshots) expect(await snapshotUpload(server, id), id).to.deep.equal(before);
      for (const v of victims) {
        const download = await v.api.download(v.asset.asset_id);
        expect(sha256(download.bytes)).to.equal(sha256(v.data));
      }
    });
  });

  describe('SQL-looking input', () => {
    const SQL = [
      "'; DROP TABLE upload_sessions; --",
      "Robert'); DROP TABLE assets;--.png",
      '" OR 1=1 --',
      "' UNION SELECT owner_id, filename FROM upload_sessions --",
      '1; SELECT pg_sleep(10)',
      '$1 $$ ; \\ %',
    ];

    it('stores SQL-looking file names verbatim through tus, REST and single-shot, and the tables stay whole', async () => {
      const owner = uniqueOwner('sql');
      const api = new StorageApi(server.url, owner);
      const data = randomBytes(64);
      for (const filename of SQL) {
        const created = await tusSend('POST', server.tusUrl, owner, {
          'Upload-Length': String(data.length),
          'Upload-Metadata': tusMetadata({ filename }),
        });
        expect(created.status, created.text).to.equal(201);
        const url = new URL(created.headers.get('location') ?? '', server.tusUrl).toString();
        const patched = await tusPatch(url, owner, 0, data);
        expect(patched.status, patched.text).to.equal(204);
        const viaTus = await api.asset(patched.headers.get('upload-asset-id') ?? '');
        const session = await api.initiate({ filename, file_size: data.length });
        await api.chunk(session.session_id, 1, data);
        const viaRest = await api.complete(session.session_id);
        const single = await api.uploadRaw(data, { filename });
        expect(single.status, single.text).to.equal(201);
        const viaSingle = JSON.parse(single.text) as AssetView;
        for (const asset of [viaTus, viaRest, viaSingle]) {
          // the stored name drops only what a path cannot hold (separators, leading dots)
          expect(asset.filename).to.equal(filename.split(/[/\\]/).pop()?.trim());
        }
      }
      const list = await api.list('limit=200');
      expect(list.total).to.equal(SQL.length * 3);
      expect(await server.sessions.countByStatus()).to.have.property('completed');
    });

    it('answers 4xx to SQL-looking query parameters, ids and subjects, and shows nobody else anything', async () => {
      const owner = uniqueOwner('sql');
      const api = new StorageApi(server.url, owner);
      const session = await api.initiate({ filename: 'mine.bin', file_size: 10 });
      const before = await snapshotUpload(server, session.session_id);
      const replies: Reply[] = [];
      for (const injection of SQL) {
        const q = encodeURIComponent(injection);
        replies.push(await api.listRaw(`status=${q}`));
        replies.push(await api.listRaw(`limit=${q}`));
        replies.push(await api.listRaw(`offset=${q}`));
        replies.push(await api.chunkRaw(session.session_id, q, Buffer.from('x')));
        replies.push(
          await api.request('POST', `/storage/chunked-upload/${session.session_id}/chunk?chunk_number=1&sha256=${q}`, {
            body: Buffer.alloc(10),
          }),
        );
        replies.push(await api.statusRaw(q));
        replies.push(await api.assetRaw(q));
      }
      for (const reply of replies) expect4xx(reply.status, reply.text);
      expect(await snapshotUpload(server, session.session_id)).to.deep.equal(before);

      // a subject that looks like SQL is just a name: it owns nothing of anybody else's
      for (const sub of SQL) {
        const list = await api.as(sub).list();
        expect(list.sessions.every((s) => s.session_id !== session.session_id)).to.equal(true);
        expectError(await api.as(sub).statusRaw(session.session_id), 403, 'forbidden');
      }
    });
  });
});
