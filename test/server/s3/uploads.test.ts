// End to end on object storage (STORAGE=s3, a real S3 gateway, skipped without S3_ENDPOINT): a real
// server over real HTTP takes uploads from tus-js-client (one PATCH, 5 MiB PATCHes, and 1 MiB
// PATCHes that end inside chunks and so go through the spool) and from the REST chunk routes
// (shuffled chunks, 4 in flight) and tus-js-client's parallel uploads (concatenation), at the sizes where chunking has edges: 0 B, 1 B, exactly one
// chunk, one chunk and a byte, a few chunks. Each asset downloads byte-identical, whole and by
// Range, is one object at its asset key with its Content-Type, and leaves no multipart upload and
// no spool file behind.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { sha256, tempDir } from '../../helpers/files.js';
import { runPool, shuffled } from '../../helpers/pool.js';
import { chunkNumbers, chunkOf, uniqueOwner } from '../../helpers/rest.js';
import {
  emptyPrefix,
  multipartUploads,
  objectKeys,
  s3ClientFor,
  s3ServerEnv,
  s3TestSettings,
  s3Unavailable,
} from '../../helpers/s3.js';
import { startTestServer, startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusUploadSource } from '../../helpers/tus.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;
const SIZES = { empty: 0, one: 1, chunk: C, chunkAndOne: C + 1, few: 3 * C + 12_345 };

describe('uploads on S3, end to end', function () {
  this.timeout(120_000);
  let server: TestServer;
  let settings: S3Settings;
  let client: S3Client;
  const owner = uniqueOwner('s3');

  before(async function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const dataDir = await tempDir('upload-test-s3-');
    settings = s3TestSettings(dataDir);
    client = await s3ClientFor(settings);
    server = await startTestServerAt(dataDir, { ...s3ServerEnv(settings), CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server?.stop();
    if (settings) await emptyPrefix(settings);
  });

  /** The asset downloads byte-identical whole and by a Range across a chunk edge; it is one object, nothing left over. */
  async function expectStored(assetId: string | null, data: Buffer, contentType: string): Promise<void> {
    expect(assetId, 'the asset id').to.be.a('string');
    const api = new StorageApi(server.url, owner);
    const asset = await api.asset(assetId ?? '');
    expect(asset).to.include({ size: data.length, sha256: sha256(data) });
    const whole = await api.download(asset.asset_id);
    expect(whole.status).to.equal(200);
    expect(whole.bytes.equals(data), 'the download equals the source').to.equal(true);
    if (data.length > 2) {
      const [start, end] = [Math.max(0, C - 100), Math.min(data.length - 1, C + 99)];
      const part = await api.download(asset.asset_id, { Range: `bytes=${start}-${end}` });
      expect(part.status).to.equal(206);
      expect(part.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${data.length}`);
      expect(part.bytes.equals(data.subarray(start, end + 1)), 'the Range equals the source').to.equal(true);
      const tail = await api.download(asset.asset_id, { Range: 'bytes=-2' });
      expect(tail.status).to.equal(206);
      expect(tail.bytes.equals(data.subarray(data.length - 2)), 'a second Range, the last bytes').to.equal(true);
    }
    const key = `${settings.prefix}/assets/${owner}/${asset.asset_id}/${asset.filename}`;
    const head = await client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: key }));
    expect(head.ContentLength).to.equal(data.length);
    expect(head.ContentType).to.equal(contentType);
    expect(head.ContentDisposition).to.match(/^attachment; filename=/);
    const left = (await multipartUploads(client, settings)).filter((u) => u.key === key);
    expect(left, 'no multipart upload left for the asset').to.deep.equal([]);
    const spool = await readdir(path.join(server.dataDir, 'spool')).catch(() => [] as string[]);
    expect(spool, 'no spool directory left').to.deep.equal([]);
  }

  const tusCases: [string, number | undefined, number[]][] = [
    ['one PATCH', undefined, Object.values(SIZES)],
    ['5 MiB PATCHes', 5 * MiB, [SIZES.empty, SIZES.one, SIZES.chunk, SIZES.chunkAndOne, SIZES.few]],
    ['1 MiB PATCHes, ending inside chunks', MiB, [SIZES.chunkAndOne, SIZES.few]],
    ['32 MiB PATCHes', 32 * MiB, [SIZES.empty, SIZES.one, SIZES.chunk, SIZES.chunkAndOne]],
    ['32 MiB PATCHes, each spanning chunks and ending inside one', 32 * MiB, [40 * MiB + 3]],
  ];
  for (const [label, chunkSize, sizes] of tusCases) {
    for (const size of sizes) {
      it(`tus-js-client, ${label}: ${size} bytes`, async () => {
        const data = randomBytes(size);
        const result = await tusUploadSource(server.tusUrl, data, {
          owner,
          metadata: { filename: `tus-${size}.bin`, filetype: 'application/x-test' },
          ...(chunkSize ? { chunkSize } : {}),
        });
        await expectStored(result.assetId, data, 'application/x-test');
      });
    }
  }

  for (const size of [SIZES.empty, SIZES.one, SIZES.chunk, SIZES.chunkAndOne, 4 * C + 3]) {
    it(`tus-js-client, parallelUploads 4 (concatenation, parts sealed and read back): ${size} bytes`, async () => {
      const data = randomBytes(size);
      const result = await tusUploadSource(server.tusUrl, data, {
        owner,
        parallelUploads: 4,
        // tus-js-client refuses uploadSize with parallelUploads; a Buffer source knows its size
        uploadSize: null,
        metadata: { filename: `parallel-${size}.bin`, filetype: 'application/x-test' },
      });
      await expectStored(result.assetId, data, 'application/x-test');
      // the parts' own objects, sealed to be read back, are gone: every object left is an asset
      const api = new StorageApi(server.url, owner);
      for (const key of await objectKeys(client, settings)) {
        const assetId = key.split('/')[3] ?? '';
        expect((await api.assetRaw(assetId)).status, `${key} is an asset's object`).to.equal(200);
      }
    });
  }

  for (const size of Object.values(SIZES)) {
    it(`REST chunks, shuffled, 4 in flight: ${size} bytes`, async () => {
      const api = new StorageApi(server.url, owner);
      const data = randomBytes(size);
      const created = await api.initiate({
        filename: `rest-${size}.bin`,
        file_size: size,
        content_type: 'video/mp4',
        asset_type: 'video',
        chunk_size: C,
      });
      const order = shuffled(chunkNumbers(size, C));
      await runPool(order, 4, async (n) => {
        await api.chunk(created.session_id, n, chunkOf(data, n, C));
      });
      const asset = await api.complete(created.session_id);
      await expectStored(asset.asset_id, data, 'video/mp4');
    });
  }

  it('counts its S3 requests by operation and outcome, and the bytes sent, in /metrics', async () => {
    const data = randomBytes(C + 7);
    const result = await tusUploadSource(server.tusUrl, data, { owner, metadata: { filename: 'metrics.bin' } });
    await expectStored(result.assetId, data, 'application/octet-stream');
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (series: string) => Number(text.match(new RegExp(`^${series} (\\S+)$`, 'm'))?.[1] ?? 'NaN');
    expect(value('upload_s3_requests_total{operation="UploadPart",outcome="ok"}')).to.be.at.least(2);
    expect(value('upload_s3_requests_total{operation="CompleteMultipartUpload",outcome="ok"}')).to.be.at.least(1);
    expect(value('upload_s3_request_duration_seconds_count{operation="CreateMultipartUpload"}')).to.be.at.least(1);
    expect(value('upload_s3_bytes_sent_total'), 'every part of this file run').to.be.at.least(data.length);
  });

  it("deletes an asset's object with the asset, and is ready while the bucket answers", async () => {
    const data = randomBytes(1000);
    const result = await tusUploadSource(server.tusUrl, data, { owner, metadata: { filename: 'gone.bin' } });
    const key = `${settings.prefix}/assets/${owner}/${result.assetId}/gone.bin`;
    expect(await objectKeys(client, settings)).to.include(key);
    const api = new StorageApi(server.url, owner);
    expect((await api.deleteAssetRaw(result.assetId ?? '')).status).to.equal(204);
    expect(await objectKeys(client, settings)).to.not.include(key);
    expect((await fetch(`${server.url}/readyz`)).status).to.equal(200);
  });

  it('is not ready when its bucket does not answer', async () => {
    const missing = { ...settings, bucket: `missing-${randomBytes(6).toString('hex')}` };
    const lost = await startTestServer(s3ServerEnv(missing));
    try {
      const ready = await fetch(`${lost.url}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await ready.text()).to.match(/object storage unreachable/);
    } finally {
      await lost.stop();
    }
  });
});
