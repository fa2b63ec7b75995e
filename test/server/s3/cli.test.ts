// The client CLI against a server on S3 (skipped without S3_ENDPOINT): files of 0 B, 1 B, exactly
// one chunk and a chunk and a byte are stored byte-identical; an upload in 1 MiB PATCHes (ending
// inside chunks, so through the spool) stopped with Ctrl-C half-way resumes when the same command
// runs again, and the asset is byte-identical.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { type ClientFixture, freshOwner, MiB, startClientFixture, waitForOffset } from '../../client-sdk/fixture.js';
import { runCli } from '../../helpers/cli.js';
import { randomFile, sha256 } from '../../helpers/files.js';
import { emptyPrefix, s3ServerEnv, s3TestSettings, s3Unavailable } from '../../helpers/s3.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tokenFor } from '../../helpers/tokens.js';

describe('upload-cli on S3', function () {
  this.timeout(120_000);
  let f: ClientFixture;
  let settings: S3Settings | undefined;

  before(async function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    settings = s3TestSettings('/nonexistent');
    f = await startClientFixture(s3ServerEnv(settings));
  });
  after(async () => {
    await f?.stop();
    if (settings) await emptyPrefix(settings);
  });

  // the fixture's server has 5 MiB chunks
  for (const size of [0, 1, 5 * MiB, 5 * MiB + 1]) {
    it(`stores a file of ${size} bytes byte-identical`, async () => {
      const home = path.join(f.dir, `home-${size}`);
      await mkdir(home);
      const owner = freshOwner();
      const env = { UPLOAD_URL: f.proxy.url, UPLOAD_TOKEN: tokenFor(owner), UPLOAD_RESUME_FILE: f.resumeFile };
      const file = await randomFile(f.dir, size, `cli-s3-${size}.bin`);
      const done = await runCli(['upload', file, '--json'], env, home).done;
      expect(done.code, done.stderr).to.equal(0);
      const { assetId } = JSON.parse(done.stdout) as { assetId: string };
      const bytes = await readFile(file);
      const api = new StorageApi(f.server.url, owner);
      expect((await api.asset(assetId)).sha256).to.equal(sha256(bytes));
      expect((await api.download(assetId)).bytes.equals(bytes)).to.equal(true);
    });
  }

  it('resumes an upload stopped by Ctrl-C and finishes it byte-identical', async () => {
    const home = path.join(f.dir, 'home');
    await mkdir(home);
    const owner = freshOwner();
    const env = { UPLOAD_URL: f.proxy.url, UPLOAD_TOKEN: tokenFor(owner), UPLOAD_RESUME_FILE: f.resumeFile };
    const size = 12 * MiB + 5;
    const file = await randomFile(f.dir, size, 'cli-s3.bin');
    const args = ['upload', file, '--chunk-size', '1MiB', '--json'];
    f.proxy.setRate(8 * MiB);
    const first = runCli(args, env, home);
    await waitForOffset(f.server, owner, 6 * MiB);
    first.child.kill('SIGINT');
    expect((await first.done).code).to.equal(130);

    f.proxy.setRate(null);
    const second = await runCli(args, env, home).done;
    expect(second.code, second.stderr).to.equal(0);
    const result = JSON.parse(second.stdout) as { assetId: string; resumedFrom: number };
    expect(result.resumedFrom).to.be.at.least(6 * MiB);
    const api = new StorageApi(f.server.url, owner);
    const asset = await api.asset(result.assetId);
    const bytes = await readFile(file);
    expect(asset.sha256).to.equal(sha256(bytes));
    expect((await api.download(result.assetId)).bytes.equals(bytes)).to.equal(true);
  });
});
