// Downloads by presigned URL on S3 (S3_PRESIGNED_DOWNLOADS=1; skipped without S3_ENDPOINT): the
// owner's download answers 302 to a short-lived URL on the gateway, which serves the asset
// byte-identical, by Range too, as an attachment of its type; the ownership check comes first
// (no token: 401, another owner: 403, neither gets a URL).
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { tempDir } from '../../helpers/files.js';
import { uniqueOwner } from '../../helpers/rest.js';
import { emptyPrefix, s3ServerEnv, s3TestSettings, s3Unavailable } from '../../helpers/s3.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tokenFor } from '../../helpers/tokens.js';
import { tusUploadSource } from '../../helpers/tus.js';

describe('presigned downloads on S3', function () {
  this.timeout(60_000);
  let server: TestServer;
  let settings: S3Settings | undefined;
  const owner = uniqueOwner('s3url');

  before(async function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const dataDir = await tempDir('upload-test-s3-url-');
    settings = { ...s3TestSettings(dataDir), presignedDownloads: true };
    server = await startTestServerAt(dataDir, { ...s3ServerEnv(settings), CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server?.stop();
    if (settings) await emptyPrefix(settings);
  });

  it('redirects the owner to a presigned URL that serves the asset whole and by Range', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 321);
    const result = await tusUploadSource(server.tusUrl, data, {
      owner,
      metadata: { filename: 'shared.pdf', filetype: 'application/pdf' },
    });
    const download = `${server.url}/storage/assets/${result.assetId}/download`;
    const asOwner = { Authorization: `Bearer ${tokenFor(owner)}` };

    const redirect = await fetch(download, { headers: asOwner, redirect: 'manual' });
    expect(redirect.status).to.equal(302);
    expect(redirect.headers.get('cache-control')).to.equal('no-store');
    const location = redirect.headers.get('location') ?? '';
    expect(location.startsWith(process.env.S3_ENDPOINT ?? '-'), location).to.equal(true);
    expect(location).to.match(/X-Amz-Expires=300/);

    const whole = await fetch(location);
    expect(whole.status).to.equal(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).to.equal(true);
    expect(whole.headers.get('content-type')).to.equal('application/pdf');
    expect(whole.headers.get('content-disposition')).to.match(/^attachment; filename="shared\.pdf"/);

    // the client's own fetch follows the redirect with its Range
    const part = await fetch(download, { headers: { ...asOwner, Range: 'bytes=100-5242979' } });
    expect(part.status).to.equal(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 5_242_980))).to.equal(true);

    const anonymous = await fetch(download, { redirect: 'manual' });
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
    expect(anonymous.headers.get('location')).to.equal(null);
    const stranger = await new StorageApi(server.url, uniqueOwner('stranger')).download(result.assetId ?? '');
    expect(stranger.status).to.equal(403);
    expect(stranger.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
    expect(stranger.headers.get('location')).to.equal(null);
  });
});
