// The cleanup sweep on object storage (skipped without S3_ENDPOINT): an expired session's
// multipart upload is aborted and its spool directory deleted; a multipart upload under our
// prefix that no session knows (a crash leftover) is aborted, and so is a stray spool directory;
// a completed asset's object and a live upload (its multipart upload, its spooled bytes) are
// untouched, and the live one still finishes byte-identical afterwards.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateMultipartUploadCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { S3Settings } from '../../../store/storage/s3-settings.js';
import { sha256, tempDir } from '../../helpers/files.js';
import { uniqueOwner } from '../../helpers/rest.js';
import {
  emptyPrefix,
  multipartUploads,
  s3ClientFor,
  s3ServerEnv,
  s3TestSettings,
  s3Unavailable,
} from '../../helpers/s3.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusUploadSource } from '../../helpers/tus.js';
import { createUpload, headOffset, patchUpload } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';

const C = 5 * 1024 * 1024;

describe('the cleanup sweep on S3', function () {
  this.timeout(120_000);
  let sweeper: TestServer;
  let longTtl: TestServer;
  let settings: S3Settings;
  let client: S3Client;
  const owner = uniqueOwner('s3sweep');

  before(async function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    const dataDir = await tempDir('upload-test-s3-sweep-');
    settings = s3TestSettings(dataDir);
    client = await s3ClientFor(settings);
    const env = { ...s3ServerEnv(settings), CHUNK_SIZE: '5MiB', ORPHAN_GRACE: '1ms' };
    sweeper = await startTestServerAt(dataDir, { ...env, SESSION_TTL: '2s' });
    // the same bucket, prefix, data directory and database, with sessions that stay fresh
    longTtl = await startTestServerAt(dataDir, { ...env, SESSION_TTL: '1h' });
  });
  after(async () => {
    await longTtl?.close();
    await sweeper?.stop();
    if (settings) await emptyPrefix(settings);
  });

  const keysInProgress = async () => (await multipartUploads(client, settings)).map((u) => u.key);
  const spoolDirs = async () => readdir(path.join(sweeper.dataDir, 'spool')).catch(() => [] as string[]);

  it('aborts the multipart uploads of expired sessions and of no session, keeps assets and live uploads', async () => {
    // a completed asset
    const done = randomBytes(C + 1);
    const completed = await tusUploadSource(sweeper.tusUrl, done, { owner, metadata: { filename: 'kept.bin' } });
    const api = new StorageApi(sweeper.url, owner);
    const asset = await api.asset(completed.assetId ?? '');
    const assetKey = `${settings.prefix}/assets/${owner}/${asset.asset_id}/kept.bin`;

    // an upload that stops inside its second chunk: one part sent, the rest spooled; it goes stale
    const stale = await createUpload(sweeper.tusUrl, { owner, length: 2 * C, metadata: { filename: 'stale.bin' } });
    expect((await patchUpload(stale.url, 0, randomBytes(C + 1000), { owner })).status).to.equal(204);
    const staleKey = `${settings.prefix}/assets/${owner}/${asUuid(stale.id)}/stale.bin`;

    // a live upload in the same state, on the server whose sessions stay fresh
    const liveBytes = randomBytes(2 * C);
    const live = await createUpload(longTtl.tusUrl, {
      owner,
      length: liveBytes.length,
      metadata: { filename: 'live.bin' },
    });
    expect((await patchUpload(live.url, 0, liveBytes.subarray(0, C + 1000), { owner })).status).to.equal(204);
    const liveKey = `${settings.prefix}/assets/${owner}/${asUuid(live.id)}/live.bin`;

    // crash leftovers: a multipart upload no session knows, a spool directory no session owns
    const orphanKey = `${settings.prefix}/assets/nobody/${randomUUID()}/left.bin`;
    await client.send(new CreateMultipartUploadCommand({ Bucket: settings.bucket, Key: orphanKey }));
    const strayId = randomBytes(16).toString('hex');
    await mkdir(path.join(sweeper.dataDir, 'spool', strayId), { recursive: true });
    await writeFile(path.join(sweeper.dataDir, 'spool', strayId, '0'), randomBytes(100));

    expect(await keysInProgress()).to.include.members([staleKey, liveKey, orphanKey]);
    expect(await spoolDirs()).to.include.members([stale.id, live.id, strayId]);

    const staleAt = Date.now();
    await waitFor(() => Date.now() > staleAt + 2_100, { what: 'the stale session to pass its TTL' });
    const report = await sweeper.cleanup();
    expect(report?.expired, 'the stale session expired (and any other of the shared database)').to.be.at.least(1);
    expect(report?.multipartAborted, 'the leftover multipart upload').to.equal(1);
    expect(report?.spoolsRemoved, 'the stray spool directory').to.equal(1);

    const inProgress = await keysInProgress();
    expect(inProgress).to.not.include(staleKey);
    expect(inProgress).to.not.include(orphanKey);
    expect(inProgress, 'the live upload keeps its multipart upload').to.include(liveKey);
    const spools = await spoolDirs();
    expect(spools).to.not.include(stale.id);
    expect(spools).to.not.include(strayId);
    expect(spools, 'the live upload keeps its spooled bytes').to.include(live.id);
    expect(await stat(path.join(sweeper.dataDir, 'spool', live.id, String(C))).then((s) => s.size)).to.equal(1000);

    const head = await client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: assetKey }));
    expect(head.ContentLength, 'the asset object is untouched').to.equal(done.length);
    expect((await api.download(asset.asset_id)).bytes.equals(done)).to.equal(true);

    // the live upload finishes byte-identical after the sweep
    expect(await headOffset(live.url, owner)).to.equal(C + 1000);
    const last = await patchUpload(live.url, C + 1000, liveBytes.subarray(C + 1000), { owner });
    expect(last.status).to.equal(204);
    const liveAsset = await api.asset(last.headers.get('upload-asset-id') ?? '');
    expect(liveAsset.sha256).to.equal(sha256(liveBytes));
    expect((await api.download(liveAsset.asset_id)).bytes.equals(liveBytes)).to.equal(true);
  });
});

function asUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
