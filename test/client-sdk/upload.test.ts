// The SDK's upload() in Node against a real server: paths, buffers and streams, progress, one
// request for small files, checksums, parallel parts, which failures are retried and how a server
// that cannot be reached is reported; downloads with progress.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import {
  downloadToFile,
  listSessions,
  type Progress,
  type RetryNotice,
  type UploadClientError,
  upload,
} from '../../client-sdk/index.js';
import { randomFile, sha256File } from '../helpers/files.js';
import { closedPort } from '../helpers/ports.js';
import { tokenFor } from '../helpers/tokens.js';
import { expectAssetOf } from '../helpers/uploads.js';
import { type ClientFixture, freshOwner, MiB, sessionsOf, startClientFixture } from './fixture.js';

describe('client-sdk upload() in Node', () => {
  let f: ClientFixture;
  before(async () => {
    f = await startClientFixture();
  });
  after(async () => {
    await f.stop();
  });
  beforeEach(() => {
    f.proxy.setRate(null);
  });

  const options = (owner: string) => ({
    endpoint: f.endpoint,
    token: tokenFor(owner),
    resumeFile: f.resumeFile,
    retryDelays: [0, 50, 100],
  });

  it('uploads a file by path in chunks with Upload-Checksum, progress rising to 100%', async () => {
    const owner = freshOwner();
    const size = 12 * MiB + 5;
    const file = await randomFile(f.dir, size, 'chunks.bin');
    const seen: Progress[] = [];
    const from = f.proxy.requests.length;
    const result = await upload(file, {
      ...options(owner),
      chunkSize: 4 * MiB,
      metadata: { asset_type: 'model', content_type: 'model/gltf-binary' },
      onProgress: (p) => seen.push(p),
    });

    expect(result.size).to.equal(size);
    expect(result.sha256).to.equal(await sha256File(file));
    expect(result.resumedFrom).to.equal(0);
    expect(result.url).to.equal(`${f.endpoint}/${result.uploadId}`);
    const asset = await expectAssetOf(f.server, result.assetId, file);
    expect(asset.assetType).to.equal('model');
    expect(asset.filename).to.equal('chunks.bin');

    const percents = seen.map((p) => p.percent ?? -1);
    expect(percents.length).to.be.greaterThan(3);
    expect(percents).to.deep.equal([...percents].sort((a, b) => a - b));
    expect(seen.at(-1)).to.include({ bytesSent: size, bytesTotal: size, percent: 100, eta: 0 });
    expect(seen.some((p) => p.bytesPerSecond > 0)).to.equal(true);

    // the first chunk rides on the POST, the rest in PATCHes of the chunk size, each with its sha256
    const sent = f.proxy.requests.slice(from).filter((r) => r.method === 'POST' || r.method === 'PATCH');
    expect(sent.map((r) => r.method)).to.deep.equal(['POST', 'PATCH', 'PATCH', 'PATCH']);
    expect(sent.map((r) => r.bodyBytes)).to.deep.equal([4 * MiB, 4 * MiB, 4 * MiB, 5]);
    const bytes = await readFile(file);
    let at = 0;
    for (const request of sent) {
      const digest = createHash('sha256')
        .update(bytes.subarray(at, at + request.bodyBytes))
        .digest('base64');
      expect(request.headers['upload-checksum']).to.equal(`sha256 ${digest}`);
      at += request.bodyBytes;
    }
  });

  it('sends a file smaller than the chunk size in the creating request alone', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 300 * 1024, 'small.bin');
    const from = f.proxy.requests.length;
    const result = await upload(file, { ...options(owner), checksum: false });
    await expectAssetOf(f.server, result.assetId, file);
    const sent = f.proxy.requests.slice(from).filter((r) => r.method === 'POST' || r.method === 'PATCH');
    expect(sent.map((r) => [r.method, r.bodyBytes])).to.deep.equal([['POST', 300 * 1024]]);
    expect(sent[0]?.headers['upload-checksum']).to.equal(undefined);
  });

  it('uploads a Buffer, and streams of known and of unknown length', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 6 * MiB + 3, 'stream.bin');
    const buffer = await readFile(file);
    const fromBuffer = await upload(buffer, { ...options(owner), chunkSize: 2 * MiB, metadata: { filename: 'b.bin' } });
    await expectAssetOf(f.server, fromBuffer.assetId, file);

    const known = await upload(createReadStream(file), { ...options(owner), chunkSize: 2 * MiB, size: buffer.length });
    await expectAssetOf(f.server, known.assetId, file);

    const seen: Progress[] = [];
    const unknown = await upload(createReadStream(file), {
      ...options(owner),
      chunkSize: 2 * MiB,
      onProgress: (p) => seen.push(p),
    });
    await expectAssetOf(f.server, unknown.assetId, file);
    expect(seen[0]?.bytesTotal).to.equal(null);
    expect(seen.at(-1)?.percent).to.equal(100);
  });

  it('uploads parallel parts of a path and of a Buffer and joins them', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 9 * MiB + 1, 'parallel.bin');
    const fromPath = await upload(file, { ...options(owner), parallelUploads: 3, chunkSize: 2 * MiB });
    await expectAssetOf(f.server, fromPath.assetId, file);
    const fromBuffer = await upload(await readFile(file), { ...options(owner), parallelUploads: 2 });
    await expectAssetOf(f.server, fromBuffer.assetId, file);
    const parts = (await sessionsOf(f.server, owner)).filter((s) => s.concat === 'partial');
    expect(parts.length).to.equal(5);
  });

  it('refuses parallel parts of a stream before sending anything', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 1024, 'refuse.bin');
    const error = await upload(createReadStream(file), { ...options(owner), parallelUploads: 2 }).catch(
      (e: unknown) => e as UploadClientError,
    );
    expect(error).to.include({ kind: 'usage' });
    expect(await sessionsOf(f.server, owner)).to.deep.equal([]);
  });

  it('retries a 503 and a 423 and gets there; a 4xx is final', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 5 * MiB, 'retry.bin');
    f.proxy.failNext('PATCH', 503);
    f.proxy.failNext('PATCH', 423);
    const result = await upload(file, { ...options(owner), chunkSize: 2 * MiB });
    await expectAssetOf(f.server, result.assetId, file);

    const other = await randomFile(f.dir, 5 * MiB, 'final.bin');
    const from = f.proxy.requests.length;
    f.proxy.failNext('PATCH', 413);
    const error = await upload(other, { ...options(owner), chunkSize: 2 * MiB }).catch(
      (e: unknown) => e as UploadClientError,
    );
    expect(error).to.include({ kind: 'refused', status: 413 });
    expect(f.proxy.requests.slice(from).filter((r) => r.method === 'PATCH').length).to.equal(1);
  });

  it('a network failure with the retries turned off is reported as such', async () => {
    const error = await upload(Buffer.from('x'), {
      endpoint: 'http://127.0.0.1:9/files',
      token: 't',
      resumeFile: f.resumeFile,
      retryDelays: [],
    }).catch((e: unknown) => e as UploadClientError);
    expect(error).to.include({ kind: 'network', message: 'cannot connect to http://127.0.0.1:9 (connection refused)' });
  });

  it('against a closed port: no progress, each retry announced, then "cannot connect to"', async () => {
    const file = await randomFile(f.dir, 3 * MiB, 'nowhere.bin');
    const port = await closedPort();
    const progress: Progress[] = [];
    const retries: RetryNotice[] = [];
    const error = await upload(file, {
      endpoint: `http://127.0.0.1:${port}/files`,
      token: 't',
      resumeFile: f.resumeFile,
      retryDelays: [10, 20],
      onProgress: (p) => progress.push(p),
      onRetry: (notice) => retries.push(notice),
    }).catch((e: unknown) => e as UploadClientError);
    const message = `cannot connect to http://127.0.0.1:${port} (connection refused)`;
    expect(error).to.include({ kind: 'network', message });
    // tus-js-client tells the offset it starts from (0); nothing more, as nothing reached a server
    expect(
      progress.filter((p) => p.bytesSent > 0 || p.bytesPerSecond > 0),
      'no bytes and no speed are reported',
    ).to.deep.equal([]);
    expect(retries.map((r) => [r.attempt, r.attempts, r.delayMs, r.error.message])).to.deep.equal([
      [1, 2, 10, message],
      [2, 2, 20, message],
    ]);
  });

  it('the REST calls retry a closed port too when given retryDelays, in the same words', async () => {
    const port = await closedPort();
    const retries: RetryNotice[] = [];
    const api = {
      baseUrl: `http://127.0.0.1:${port}`,
      token: 't',
      retryDelays: [10],
      onRetry: (n: RetryNotice) => retries.push(n),
    };
    const error = await listSessions(api).catch((e: unknown) => e as UploadClientError);
    const message = `cannot connect to http://127.0.0.1:${port} (connection refused)`;
    expect(error).to.include({ kind: 'network', message });
    expect(retries.map((r) => [r.attempt, r.attempts, r.error.message])).to.deep.equal([[1, 1, message]]);
  });

  it('downloads an asset to a file, telling the progress with the length', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 3 * MiB + 3, 'to-download.bin');
    const { assetId } = await upload(file, options(owner));
    const seen: [number, number | null][] = [];
    const out = path.join(f.dir, 'downloaded-progress.bin');
    const result = await downloadToFile({ baseUrl: f.proxy.url, token: tokenFor(owner) }, assetId, out, {
      onProgress: (bytes, total) => seen.push([bytes, total]),
    });
    expect(result.bytes).to.equal(3 * MiB + 3);
    expect(seen.length).to.be.greaterThan(1);
    expect(seen.at(-1)).to.deep.equal([3 * MiB + 3, 3 * MiB + 3]);
    expect(await sha256File(out)).to.equal(await sha256File(file));
  });
});
