// Two instances on one database and one bucket, each with its own DATA_DIR (no shared disk), on
// S3 (skipped without S3_ENDPOINT): REST chunks of one upload sent to both, shuffled, 4 in flight,
// and tus PATCHes alternating between them at chunk boundaries, finish byte-identical. A PATCH
// that ended inside a chunk leaves that chunk's bytes in its instance's spool: the other instance
// refuses to continue it (503 unavailable, nothing changed) and the first finishes it.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { sha256, tempDir } from '../../helpers/files.js';
import { runPool, shuffled } from '../../helpers/pool.js';
import { chunkNumbers, chunkOf, uniqueOwner } from '../../helpers/rest.js';
import { emptyPrefix, s3ServerEnv, s3TestSettings, s3Unavailable } from '../../helpers/s3.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { createUpload, expectTusError, headOffset, patchUpload } from '../../helpers/tus-http.js';

const C = 5 * 1024 * 1024;

describe('two instances on S3 with no shared disk', function () {
  this.timeout(120_000);
  let one: TestServer;
  let two: TestServer;
  let settings: S3Settings | undefined;
  const owner = uniqueOwner('s3two');

  before(async function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const dirOne = await tempDir('upload-test-s3-one-');
    settings = s3TestSettings(dirOne);
    const env = { ...s3ServerEnv(settings), CHUNK_SIZE: '5MiB' };
    one = await startTestServerAt(dirOne, env);
    two = await startTestServerAt(await tempDir('upload-test-s3-two-'), env);
  });
  after(async () => {
    await one?.stop();
    await two?.stop();
    if (settings) await emptyPrefix(settings);
  });

  /** The same upload's URL on the other instance. */
  const on = (server: TestServer, url: string) => `${server.tusUrl}/${url.split('/').pop()}`;

  it('takes REST chunks of one upload on both, shuffled and 4 in flight, and completes it on either', async () => {
    const data = randomBytes(4 * C + 999);
    const apis: [StorageApi, StorageApi] = [new StorageApi(one.url, owner), new StorageApi(two.url, owner)];
    const created = await apis[0].initiate({ filename: 'two.bin', file_size: data.length, chunk_size: C });
    await runPool(shuffled(chunkNumbers(data.length, C)), 4, async (n) => {
      await apis[n % 2 === 0 ? 0 : 1].chunk(created.session_id, n, chunkOf(data, n, C));
    });
    const asset = await apis[1].complete(created.session_id);
    expect(asset.sha256).to.equal(sha256(data));
    expect((await apis[0].download(asset.asset_id)).bytes.equals(data)).to.equal(true);
  });

  it('takes tus PATCHes alternating between them at chunk boundaries', async () => {
    const data = randomBytes(3 * C + 10);
    const upload = await createUpload(one.tusUrl, { owner, length: data.length, metadata: { filename: 'alt.bin' } });
    const cuts = [0, C, 2 * C, 3 * C, data.length];
    let assetId: string | null = null;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
      const url = on(i % 2 === 0 ? one : two, upload.url);
      const reply = await patchUpload(url, from, data.subarray(from, to), { owner });
      expect(reply.status, reply.body).to.equal(204);
      assetId = reply.headers.get('upload-asset-id');
    }
    const api = new StorageApi(two.url, owner);
    const asset = await api.asset(assetId ?? '');
    expect(asset.sha256).to.equal(sha256(data));
    expect((await api.download(asset.asset_id)).bytes.equals(data)).to.equal(true);
  });

  it('refuses, on the other instance, to continue a chunk spooled on the first; the first finishes it', async () => {
    const data = randomBytes(C + 5000);
    const upload = await createUpload(one.tusUrl, { owner, length: data.length, metadata: { filename: 'mid.bin' } });
    expect((await patchUpload(upload.url, 0, data.subarray(0, C + 1000), { owner })).status).to.equal(204);
    const elsewhere = on(two, upload.url);
    expect(await headOffset(elsewhere, owner), 'HEAD answers anywhere').to.equal(C + 1000);
    const refused = await patchUpload(elsewhere, C + 1000, data.subarray(C + 1000), { owner });
    expect(expectTusError(refused, 503, 'unavailable')).to.match(/spooled on another instance/);
    expect(await headOffset(upload.url, owner), 'nothing changed').to.equal(C + 1000);
    const done = await patchUpload(upload.url, C + 1000, data.subarray(C + 1000), { owner });
    expect(done.status, done.body).to.equal(204);
    const api = new StorageApi(one.url, owner);
    const asset = await api.asset(done.headers.get('upload-asset-id') ?? '');
    expect((await api.download(asset.asset_id)).bytes.equals(data)).to.equal(true);
  });
});
