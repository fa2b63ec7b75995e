// SIGKILL on S3 (skipped without S3_ENDPOINT): a server process holding an upload's spooled bytes
// (a PATCH that ended inside a chunk) is killed in the middle of the next PATCH; restarted on the
// same DATA_DIR it reports the offset the spool and S3's parts hold durably (never more than was
// acknowledged), resumes from the spool, and the upload finishes byte-identical.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { removeDir, sha256, tempDir } from '../../helpers/files.js';
import { uniqueOwner } from '../../helpers/rest.js';
import {
  emptyPrefix,
  multipartUploads,
  s3ClientFor,
  s3ServerEnv,
  s3TestSettings,
  s3Unavailable,
} from '../../helpers/s3.js';
import { type ChildServer, startChildServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { createUpload, headOffset, OpenPatch, patchUpload } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';

const C = 5 * 1024 * 1024;

describe('SIGKILL in the middle of a PATCH on S3', function () {
  this.timeout(120_000);
  let dataDir: string | undefined;
  let server: ChildServer | undefined;
  let settings: S3Settings | undefined;

  before(function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });
  after(async () => {
    await server?.kill('SIGTERM');
    if (dataDir) await removeDir(dataDir);
    if (settings) await emptyPrefix(settings);
  });

  it('restarts at the durable offset, resumes from the spool and finishes byte-identical', async () => {
    dataDir = await tempDir('upload-test-s3-kill-');
    const mine = s3TestSettings(dataDir);
    settings = mine;
    const env = { ...s3ServerEnv(mine), CHUNK_SIZE: '5MiB' };
    const owner = uniqueOwner('s3kill');
    const data = randomBytes(3 * C + 777);
    server = await startChildServer(dataDir, env);
    const upload = await createUpload(server.tusUrl, { owner, length: data.length, metadata: { filename: 'k.bin' } });
    const id = upload.url.split('/').pop() ?? '';

    // chunk 1 becomes part 1; 1000 bytes of chunk 2 are spooled and acknowledged
    const first = await patchUpload(upload.url, 0, data.subarray(0, C + 1000), { owner });
    expect(first.headers.get('upload-offset')).to.equal(String(C + 1000));

    // the next PATCH is cut by SIGKILL after 1 MiB more, none of it acknowledged
    const patch = new OpenPatch(upload.url, C + 1000, data.length - C - 1000, owner);
    for (let at = C + 1000; at < C + 1000 + 1024 * 1024; at += 64 * 1024) {
      await patch.send(data.subarray(at, at + 64 * 1024));
    }
    await server.kill('SIGKILL');

    server = await startChildServer(dataDir, env);
    const url = `${server.tusUrl}/${id}`;
    const offset = await headOffset(url, owner);
    expect(offset, 'what was acknowledged and is durable: part 1 and the spooled 1000 bytes').to.equal(C + 1000);

    const rest = await patchUpload(url, offset, data.subarray(offset), { owner });
    expect(rest.status, rest.body).to.equal(204);
    const api = new StorageApi(server.url, owner);
    const asset = await api.asset(rest.headers.get('upload-asset-id') ?? '');
    expect(asset.sha256, 'sha256 read back from the object after the restart').to.equal(sha256(data));
    expect((await api.download(asset.asset_id)).bytes.equals(data)).to.equal(true);
    const client = await s3ClientFor(mine);
    await waitFor(async () => (await multipartUploads(client, mine)).length === 0, {
      what: 'no multipart upload left under the prefix',
    });
  });
});
