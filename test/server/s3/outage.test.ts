// The object store down (skipped without S3_ENDPOINT): the server reaches the real gateway through
// a TCP proxy the test cuts, or sets to answer S3's throttling error. While it is away, creations
// and PATCHes that need it answer 503 `unavailable` with Retry-After (never a 500), /readyz fails,
// the upload keeps the offset it had; once the gateway is back the upload resumes and finishes
// byte-identical.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { removeDir, sha256, tempDir } from '../../helpers/files.js';
import { uniqueOwner } from '../../helpers/rest.js';
import { emptyPrefix, s3ClientFor, s3ServerEnv, s3TestSettings, s3Unavailable } from '../../helpers/s3.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { s3SlowDown, TcpProxy } from '../../helpers/tcp-proxy.js';
import { createUpload, expectTusError, headOffset, patchUpload, tusRequest } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';

const C = 5 * 1024 * 1024;

describe('the object store down', function () {
  this.timeout(120_000);
  let proxy: TcpProxy | undefined;
  let server: TestServer | undefined;
  let settings: S3Settings | undefined;
  let dataDir: string | undefined;

  before(async function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const gateway = new URL(process.env.S3_ENDPOINT ?? '');
    proxy = new TcpProxy(gateway.hostname, Number(gateway.port || 80));
    await proxy.open();
    dataDir = await tempDir('upload-test-s3-down-');
    settings = s3TestSettings(dataDir);
    await s3ClientFor(settings);
    server = await startTestServerAt(dataDir, {
      ...s3ServerEnv(settings),
      S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`,
      CHUNK_SIZE: '5MiB',
    });
  });
  after(async () => {
    await proxy?.open().catch(() => {});
    await server?.close();
    await proxy?.close();
    if (settings) await emptyPrefix(settings);
    if (dataDir) await removeDir(dataDir);
  });

  const ready = async () => (await fetch(`${server?.url}/readyz`)).status;

  it('answers 503 unavailable while the gateway is unreachable, keeps the offset, and resumes byte-identical', async () => {
    if (!server || !proxy) throw new Error('not set up');
    const owner = uniqueOwner('s3down');
    const data = randomBytes(2 * C + 4321);
    const { url } = await createUpload(server.tusUrl, { owner, length: data.length, metadata: { filename: 'd.bin' } });
    const first = await patchUpload(url, 0, data.subarray(0, C + 1000), { owner });
    expect(first.status, first.body).to.equal(204);

    await proxy.close();
    expect(await ready(), '/readyz while the gateway is away').to.equal(503);
    const created = await tusRequest('POST', server.tusUrl, {
      owner,
      headers: { 'Upload-Length': '10', 'Upload-Metadata': `filename ${Buffer.from('x').toString('base64')}` },
    });
    expect(expectTusError(created, 503, 'unavailable')).to.match(/object storage/);
    expect(created.headers.get('retry-after')).to.equal('5');
    expect(created.headers.get('location'), 'no upload was created').to.equal(null);
    // completes chunk 2, which must become a part: S3 is needed and not there
    const second = await patchUpload(url, C + 1000, data.subarray(C + 1000), { owner });
    expect(expectTusError(second, 503, 'unavailable')).to.match(/object storage.*retry/);
    expect(second.headers.get('retry-after')).to.equal('5');

    await proxy.open();
    await waitFor(async () => (await ready()) === 200, { what: '/readyz to recover' });
    const offset = await headOffset(url, owner);
    expect(offset, 'at least what was acknowledged').to.be.at.least(C + 1000);
    expect(offset, 'never the unacknowledged end').to.be.below(data.length);
    const rest = await patchUpload(url, offset, data.subarray(offset), { owner });
    expect(rest.status, rest.body).to.equal(204);
    const api = new StorageApi(server.url, owner);
    const asset = await api.asset(rest.headers.get('upload-asset-id') ?? '');
    expect(asset.sha256).to.equal(sha256(data));
    expect((await api.download(asset.asset_id)).bytes.equals(data), 'downloaded bytes').to.equal(true);
  });

  it('answers 503 unavailable when the gateway throttles (SlowDown) beyond the retries', async () => {
    if (!server || !proxy) throw new Error('not set up');
    const owner = uniqueOwner('s3slow');
    proxy.answerWith(s3SlowDown());
    try {
      const created = await tusRequest('POST', server.tusUrl, { owner, headers: { 'Upload-Length': '10' } });
      expect(expectTusError(created, 503, 'unavailable')).to.match(/object storage.*SlowDown/);
      expect(created.headers.get('retry-after')).to.equal('5');
    } finally {
      await proxy.open();
    }
    const again = await tusRequest('POST', server.tusUrl, { owner, headers: { 'Upload-Length': '10' } });
    expect(again.status, again.body).to.equal(201);
  });
});
