// 200 MiB on S3, opt-in (S3_LARGE_TESTS=1 beside S3_ENDPOINT; CI sets it; about a minute and a
// half): tus-js-client in one PATCH, in 5 MiB and in 32 MiB PATCHes and with parallelUploads 4,
// the REST chunk routes (shuffled, 4 in flight) and upload-cli each store a 200 MiB file
// byte-identical, downloaded whole and by two Ranges.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { runCli } from '../../helpers/cli.js';
import { removeDir, sha256, tempDir } from '../../helpers/files.js';
import { runPool, shuffled } from '../../helpers/pool.js';
import { chunkNumbers, chunkOf, uniqueOwner } from '../../helpers/rest.js';
import { emptyPrefix, s3ServerEnv, s3TestSettings, s3Unavailable } from '../../helpers/s3.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tokenFor } from '../../helpers/tokens.js';
import { tusUploadSource } from '../../helpers/tus.js';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;

describe('200 MiB on S3', function () {
  this.timeout(600_000);
  let server: TestServer;
  let data: Buffer;
  let settings: S3Settings | undefined;
  const owner = uniqueOwner('s3big');

  before(async function () {
    const why = s3Unavailable() ?? (process.env.S3_LARGE_TESTS === '1' ? undefined : 'S3_LARGE_TESTS is not 1');
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const dataDir = await tempDir('upload-test-s3-big-');
    settings = s3TestSettings(dataDir);
    server = await startTestServerAt(dataDir, { ...s3ServerEnv(settings), CHUNK_SIZE: '10MiB' });
    data = randomBytes(SIZE);
  });
  after(async () => {
    await server?.stop();
    if (settings) await emptyPrefix(settings);
  });

  async function expectDownloads(assetId: string): Promise<void> {
    const api = new StorageApi(server.url, owner);
    expect((await api.asset(assetId)).sha256).to.equal(sha256(data));
    expect((await api.download(assetId)).bytes.equals(data), 'whole').to.equal(true);
    for (const [start, end] of [
      [10 * MiB - 1, 30 * MiB],
      [SIZE - 1000, SIZE - 1],
    ] as const) {
      const part = await api.download(assetId, { Range: `bytes=${start}-${end}` });
      expect(part.status).to.equal(206);
      expect(part.bytes.equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`).to.equal(true);
    }
  }

  it('tus-js-client, one PATCH', async () => {
    const result = await tusUploadSource(server.tusUrl, data, { owner, metadata: { filename: 'big.bin' } });
    await expectDownloads(result.assetId ?? '');
  });

  for (const chunkSize of [5 * MiB, 32 * MiB]) {
    it(`tus-js-client, ${chunkSize / MiB} MiB PATCHes`, async () => {
      const result = await tusUploadSource(server.tusUrl, data, {
        owner,
        chunkSize,
        metadata: { filename: 'big.bin' },
      });
      await expectDownloads(result.assetId ?? '');
    });
  }

  it('tus-js-client, parallelUploads 4 (concatenation)', async () => {
    const result = await tusUploadSource(server.tusUrl, data, {
      owner,
      parallelUploads: 4,
      // tus-js-client refuses uploadSize with parallelUploads; a Buffer source knows its size
      uploadSize: null,
      metadata: { filename: 'big-parallel.bin' },
    });
    await expectDownloads(result.assetId ?? '');
  });

  it('upload-cli', async () => {
    const dir = await tempDir('upload-test-s3-big-cli-');
    try {
      const file = path.join(dir, 'big-cli.bin');
      await writeFile(file, data);
      const env = {
        UPLOAD_URL: server.url,
        UPLOAD_TOKEN: tokenFor(owner),
        UPLOAD_RESUME_FILE: path.join(dir, 'resume.json'),
      };
      const done = await runCli(['upload', file, '--json'], env, dir).done;
      expect(done.code, done.stderr).to.equal(0);
      await expectDownloads((JSON.parse(done.stdout) as { assetId: string }).assetId);
    } finally {
      await removeDir(dir);
    }
  });

  it('REST chunks, shuffled, 4 in flight', async () => {
    const api = new StorageApi(server.url, owner);
    const created = await api.initiate({ filename: 'big-rest.bin', file_size: SIZE, asset_type: 'video' });
    const C = created.chunk_size;
    await runPool(shuffled(chunkNumbers(SIZE, C)), 4, async (n) => {
      await api.chunk(created.session_id, n, chunkOf(data, n, C));
    });
    await expectDownloads((await api.complete(created.session_id)).asset_id);
  });
});
