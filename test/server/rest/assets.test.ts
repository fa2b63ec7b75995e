// Asset routes: metadata, download (whole, Range, ETag and If-None-Match, a safe
// Content-Disposition), delete, and GET {TUS_PATH}/{id} leading a finished tus upload to its asset.
import { randomBytes } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { sha256 } from '../../helpers/files.js';
import { type AssetView, bearer, expectError, fetchBytes, rawGet, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusMetadata, tusPatch, tusSend } from '../../helpers/tus-send.js';

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

describe('REST assets', () => {
  let server: TestServer;
  let api: StorageApi;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(() => {
    api = new StorageApi(server.url, uniqueOwner('erin'));
  });

  /** An asset made through the REST session routes. */
  async function restAsset(data: Buffer, filename = 'photo.png', contentType = 'image/png'): Promise<AssetView> {
    const created = await api.initiate({
      filename,
      file_size: data.length,
      asset_type: 'image',
      content_type: contentType,
    });
    if (data.length > 0) await api.chunk(created.session_id, 1, data);
    return api.complete(created.session_id);
  }

  /** An upload finished through tus; returns its URL. */
  async function tusUpload(data: Buffer, metadata: Record<string, string>): Promise<string> {
    const owner = api.owner ?? '';
    const create = await tusSend('POST', server.tusUrl, owner, {
      'Upload-Length': String(data.length),
      'Upload-Metadata': tusMetadata(metadata),
    });
    expect(create.status, create.text).to.equal(201);
    const url = new URL(create.headers.get('location') ?? '', server.tusUrl).toString();
    const patch = await tusPatch(url, owner, 0, data);
    expect(patch.status, patch.text).to.equal(204);
    return url;
  }

  const assetFile = async (id: string) => {
    const row = await server.assets.find(id);
    if (!row) throw new Error(`no asset ${id}`);
    return path.resolve(server.dataDir, row.storagePath);
  };

  describe('GET /storage/assets/{id}', () => {
    it('returns filename, size, sha256, content_type, asset_type and created_at', async () => {
      const data = randomBytes(4321);
      const made = await restAsset(data);
      const asset = await api.asset(made.asset_id);
      expect(asset).to.deep.equal(made);
      expect(asset).to.include({
        asset_id: made.asset_id,
        filename: 'photo.png',
        size: data.length,
        sha256: sha256(data),
        content_type: 'image/png',
        asset_type: 'image',
        download_url: `/storage/assets/${made.asset_id}/download`,
      });
      expect(Date.parse(asset.created_at)).to.be.closeTo(Date.now(), 60_000);
    });

    it('answers 404 not_found for an unknown or malformed id', async () => {
      expectError(await api.assetRaw('00000000-0000-4000-8000-000000000000'), 404, 'not_found');
      expectError(await api.assetRaw('not-an-id'), 404, 'not_found');
      expectError(await api.download('not-an-id').then(toReply), 404, 'not_found');
    });
  });

  describe('GET /storage/assets/{id}/download', () => {
    const data = randomBytes(100_000);
    let asset: AssetView;
    beforeEach(async () => {
      asset = await restAsset(data, 'clip.bin', 'application/x-test');
    });

    it('streams the whole file with its type, length, ETag and Accept-Ranges', async () => {
      const whole = await api.download(asset.asset_id);
      expect(whole.status).to.equal(200);
      expect(whole.bytes.equals(data)).to.equal(true);
      expect(whole.headers.get('content-type')).to.match(/^application\/x-test/);
      expect(whole.headers.get('content-length')).to.equal(String(data.length));
      expect(whole.headers.get('etag')).to.equal(`"${sha256(data)}"`);
      expect(whole.headers.get('accept-ranges')).to.equal('bytes');
      expect(whole.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(whole.headers.get('content-disposition')).to.match(/^attachment; filename="?clip\.bin"?$/);
    });

    it('answers a Range with 206 and exactly those bytes', async () => {
      const cases: [string, number, number][] = [
        ['bytes=0-0', 0, 0],
        ['bytes=1000-1999', 1000, 1999],
        ['bytes=99000-', 99_000, data.length - 1],
        ['bytes=-500', data.length - 500, data.length - 1],
      ];
      for (const [range, start, end] of cases) {
        const part = await api.download(asset.asset_id, { Range: range });
        expect(part.status, range).to.equal(206);
        expect(part.headers.get('content-range'), range).to.equal(`bytes ${start}-${end}/${data.length}`);
        expect(part.bytes.equals(data.subarray(start, end + 1)), range).to.equal(true);
      }
    });

    it('answers a Range past the end with 416 range_not_satisfiable and Content-Range bytes */size', async () => {
      for (const range of [`bytes=${data.length}-`, `bytes=${data.length + 10}-${data.length + 20}`]) {
        const reply = toReply(await api.download(asset.asset_id, { Range: range }));
        expectError(reply, 416, 'range_not_satisfiable');
        expect(reply.headers.get('content-range'), range).to.equal(`bytes */${data.length}`);
        expect(reply.headers.get('content-disposition'), 'an error is not an attachment').to.equal(null);
        expect(reply.headers.get('etag'), "an error does not carry the asset's ETag").to.not.equal(`"${asset.sha256}"`);
      }
    });

    it('answers 500 storage_error as JSON when the file has gone missing from DATA_DIR', async () => {
      await rm(await assetFile(asset.asset_id));
      const reply = toReply(await api.download(asset.asset_id));
      expect(expectError(reply, 500, 'storage_error')).to.include(asset.asset_id);
      expect(reply.headers.get('content-disposition')).to.equal(null);
      expect(reply.headers.get('etag')).to.not.equal(`"${asset.sha256}"`);
    });

    it('answers If-None-Match with the ETag by 304, and any other tag by the whole file', async () => {
      // node:http: fetch adds Cache-Control: no-cache to conditional requests
      const url = `${server.url}/storage/assets/${asset.asset_id}/download`;
      const etag = `"${asset.sha256}"`;
      const cached = await rawGet(url, api.headers({ 'If-None-Match': etag }));
      expect(cached.status).to.equal(304);
      expect(cached.body.length).to.equal(0);
      const headers = new Map<string, string>();
      for (let i = 0; i < cached.rawHeaders.length; i += 2) {
        headers.set(cached.rawHeaders[i]?.toLowerCase() ?? '', cached.rawHeaders[i + 1] ?? '');
      }
      expect(headers.get('etag')).to.equal(etag);
      const listed = await rawGet(url, api.headers({ 'If-None-Match': `"abc", ${etag}` }));
      expect(listed.status).to.equal(304);
      const stale = await rawGet(url, api.headers({ 'If-None-Match': `"${sha256('other')}"` }));
      expect(stale.status).to.equal(200);
      expect(stale.body.equals(data)).to.equal(true);
    });

    it('honours If-Range: the Range with the current ETag, the whole file with another', async () => {
      const same = await api.download(asset.asset_id, { Range: 'bytes=10-19', 'If-Range': `"${asset.sha256}"` });
      expect(same.status).to.equal(206);
      expect(same.bytes.equals(data.subarray(10, 20))).to.equal(true);
      const other = await api.download(asset.asset_id, { Range: 'bytes=10-19', 'If-Range': '"something-else"' });
      expect(other.status).to.equal(200);
      expect(other.bytes.equals(data)).to.equal(true);
    });
  });

  describe('Content-Disposition', () => {
    const name = 'he said "hi"\r\nX-Injected: yes; naïve €\u0000.txt';

    async function checkDisposition(assetId: string): Promise<void> {
      const stored = await api.asset(assetId);
      // control characters are gone from the stored name; the rest is kept
      expect(stored.filename).to.equal('he said "hi"X-Injected: yes; naïve €.txt');
      const res = await rawGet(`${server.url}/storage/assets/${assetId}/download`, api.headers());
      expect(res.status).to.equal(200);
      const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      expect(names, 'no injected header').to.not.include('x-injected');
      for (const value of res.rawHeaders) {
        expect(value).to.not.include('\r').and.not.include('\n').and.not.include('\u0000');
      }
      const index = names.indexOf('content-disposition');
      const disposition = res.rawHeaders[index * 2 + 1] ?? '';
      expect(names.filter((n) => n === 'content-disposition')).to.have.length(1);
      // printable ASCII only, with the UTF-8 name in filename*
      expect(disposition).to.match(/^[\x20-\x7e]+$/);
      const match = /^attachment; filename="((?:[^"\\]|\\.)*)"; filename\*=UTF-8''([A-Za-z0-9%!#$&+.^_`|~-]+)$/.exec(
        disposition,
      );
      expect(match, disposition).to.not.equal(null);
      expect(decodeURIComponent(match?.[2] ?? '')).to.equal(stored.filename);
      expect(match?.[1]?.replace(/\\(.)/g, '$1')).to.equal(stored.filename.replace(/[^\x20-\x7e]/g, '?'));
      expect(res.body.length).to.equal(stored.size);
    }

    it('is safely encoded for a name with quotes, non-ASCII and CR/LF given to the REST routes', async () => {
      const asset = await restAsset(randomBytes(10), name, 'text/plain');
      await checkDisposition(asset.asset_id);
    });

    it('is safely encoded for the same name given in tus metadata', async () => {
      const url = await tusUpload(randomBytes(10), { filename: name });
      const session = await api.status(url.split('/').pop() ?? '');
      await checkDisposition(session.asset_id ?? '');
    });
  });

  describe('DELETE /storage/assets/{id}', () => {
    it('deletes the row and the file: then GET, download and DELETE answer 404 not_found', async () => {
      const asset = await restAsset(randomBytes(2000));
      const file = await assetFile(asset.asset_id);
      expect(file.startsWith(path.join(server.dataDir, 'assets') + path.sep)).to.equal(true);
      expect(await exists(file)).to.equal(true);

      const del = await api.deleteAssetRaw(asset.asset_id);
      expect(del.status).to.equal(204);
      expect(del.text).to.equal('');
      expect(await exists(file), 'the file is gone from DATA_DIR').to.equal(false);
      expect(await exists(path.dirname(file)), 'and its directory').to.equal(false);
      expectError(await api.assetRaw(asset.asset_id), 404, 'not_found');
      expectError(await api.download(asset.asset_id).then(toReply), 404, 'not_found');
      expectError(await api.deleteAssetRaw(asset.asset_id), 404, 'not_found');
    });
    it('takes the asset off its session: status and list show it completed with asset_id null', async () => {
      const data = randomBytes(3000);
      const created = await api.initiate({ filename: 'gone.bin', file_size: data.length });
      await api.chunk(created.session_id, 1, data);
      const asset = await api.complete(created.session_id);
      expect((await api.status(created.session_id)).asset_id).to.equal(asset.asset_id);

      expect((await api.deleteAssetRaw(asset.asset_id)).status).to.equal(204);
      const view = await api.status(created.session_id);
      expect(view).to.include({ status: 'completed', asset_id: null });
      const listed = (await api.list('?status=completed')).sessions.find((s) => s.session_id === created.session_id);
      expect(listed).to.include({ asset_id: null });
      expect(await server.sessions.findByAssetIds([asset.asset_id]), 'no session names it').to.deep.equal([]);
    });
  });

  describe('GET {TUS_PATH}/{id}', () => {
    it("returns the asset's bytes for a completed tus upload, Ranges too", async () => {
      const data = randomBytes(70_000);
      const url = await tusUpload(data, { filename: 'via-tus.bin', filetype: 'application/x-tus-test' });
      const whole = await fetchBytes(url, bearer(api.owner ?? ''));
      expect(whole.status).to.equal(200);
      expect(whole.bytes.equals(data)).to.equal(true);
      expect(whole.headers.get('etag')).to.equal(`"${sha256(data)}"`);
      expect(whole.headers.get('content-disposition')).to.match(/^attachment; filename="?via-tus\.bin"?$/);
      const part = await fetchBytes(url, { ...bearer(api.owner ?? ''), Range: 'bytes=500-999' });
      expect(part.status).to.equal(206);
      expect(part.bytes.equals(data.subarray(500, 1000))).to.equal(true);
    });

    it('answers 404 for an unfinished, an unknown, and a deleted upload', async () => {
      const owner = api.owner ?? '';
      const created = await api.initiate({ file_size: 10 });
      for (const url of [created.upload_url, `${server.tusUrl}/0123456789abcdef0123456789abcdef`]) {
        const reply = await fetchBytes(url, bearer(owner));
        expect(reply.status).to.equal(404);
        expect(reply.headers.get('x-error-type')).to.equal('not_found');
      }
      const url = await tusUpload(randomBytes(10), { filename: 'x.bin' });
      const view = await api.status(url.split('/').pop() ?? '');
      expect((await api.deleteAssetRaw(view.asset_id ?? '')).status).to.equal(204);
      const gone = await fetchBytes(url, bearer(owner));
      expect(gone.status).to.equal(404);
      expect(gone.headers.get('x-error-type')).to.equal('not_found');
    });
  });
});

function toReply(download: { status: number; headers: Headers; bytes: Buffer }) {
  return { status: download.status, headers: download.headers, text: download.bytes.toString('utf8') };
}
