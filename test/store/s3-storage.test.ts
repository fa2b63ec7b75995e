// What is particular to the S3 storage, against a real gateway (skipped without S3_ENDPOINT):
// each whole chunk becomes its part with its ETag recorded as S3 sent it, every part but the last
// exactly the chunk size; bytes of a chunk not yet whole stay in the spool, not in S3; a whole
// chunk (REST) streams straight into its part; completing
// uses exactly the parts the length covers, at their sizes; and an
// upload needing more than S3's 10,000 parts is refused when it is created.
import { randomBytes } from 'node:crypto';
import { ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { StorageUploadRepository } from '../../db/storage-upload-repository.js';
import { isUploadError } from '../../store/errors.js';
import type { UploadShape } from '../../store/storage/chunk-storage.js';
import type { S3Settings } from '../../store/storage/s3-settings.js';
import { S3ChunkStorage } from '../../store/storage/s3-storage.js';
import { removeDir, tempDir } from '../helpers/files.js';
import { emptyPrefix, s3ClientFor, s3TestSettings, s3Unavailable } from '../helpers/s3.js';
import { sharedDatabase } from '../helpers/server.js';
import { collect } from './contract/storage-factories.js';

const C = 5 * 1024 * 1024;

describe('S3ChunkStorage', () => {
  let dir: string;
  let settings: S3Settings;
  let client: S3Client;
  let rows: StorageUploadRepository;
  let storage: S3ChunkStorage;
  const shapeOf = (length: number | undefined): UploadShape => ({
    ownerId: 'owner-s3',
    filename: 'parts.bin',
    contentType: null,
    chunkSize: C,
    length,
  });

  before(async function () {
    const why = s3Unavailable();
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    dir = await tempDir('upload-test-s3-storage-');
    settings = s3TestSettings(dir);
    client = await s3ClientFor(settings);
    const database = await sharedDatabase();
    await database.migrate();
    rows = new StorageUploadRepository(database.db);
    storage = new S3ChunkStorage(client, settings, rows);
  });
  after(async () => {
    if (dir) await removeDir(dir);
    if (settings) await emptyPrefix(settings);
  });

  it('sends each whole chunk as its part and records the ETag S3 answered; a partial chunk stays spooled', async () => {
    const id = randomBytes(16).toString('hex');
    const source = randomBytes(2 * C + 100);
    await storage.create(id, shapeOf(source.length));
    const sink = await storage.openSink(id, 0, shapeOf(source.length));
    await sink.write([source.subarray(0, C)], 0);
    await sink.write([source.subarray(C, 2 * C)], C);
    await sink.write([source.subarray(2 * C, 2 * C + 40)], 2 * C);
    await sink.sync();
    await sink.close();

    const row = await rows.find(id);
    if (!row) throw new Error('no storage row');
    const listed = await client.send(
      new ListPartsCommand({ Bucket: settings.bucket, Key: row.objectKey, UploadId: row.uploadId }),
    );
    const inS3 = (listed.Parts ?? []).map((p) => ({ n: p.PartNumber, etag: p.ETag, size: p.Size }));
    const recorded = Object.entries(row.parts).map(([n, p]) => ({ n: Number(n), etag: p.etag, size: p.size }));
    expect(recorded).to.deep.equal(inS3);
    expect(inS3.map((p) => p.size)).to.deep.equal([C, C]);
    expect(await storage.storedLength(id), 'two parts and 40 spooled bytes').to.equal(2 * C + 40);
    await storage.remove(id);
    expect(await rows.find(id)).to.equal(undefined);
  });

  it('completes with the bytes the upload ended with, not a part recorded before a crash undid it', async () => {
    const id = randomBytes(16).toString('hex');
    const first = randomBytes(2 * C);
    await storage.create(id, shapeOf(undefined));
    const sink = await storage.openSink(id, 0, shapeOf(undefined));
    await sink.write([first.subarray(0, C)], 0);
    await sink.write([first.subarray(C)], C);
    await sink.sync();
    await sink.close();
    // the session recorded only chunk 1 (offset C); the upload then ends 10 bytes later
    const tail = randomBytes(10);
    const again = await storage.openSink(id, C, shapeOf(undefined));
    await again.write([tail], C);
    await again.sync();
    await again.close();
    const assetPath = storage.assetPath('owner-s3', storage.assetIdFor(id), 'parts.bin');
    await storage.promote(id, assetPath, C + 10);
    const asset = await collect(storage.readAsset(assetPath, 0, 2 * C));
    expect(asset.equals(Buffer.concat([first.subarray(0, C), tail]))).to.equal(true);
    await storage.removeAsset(assetPath);
  });

  it('streams a whole chunk straight into its part, with no spool file; one cut short leaves nothing', async () => {
    const id = randomBytes(16).toString('hex');
    const source = randomBytes(C + 300);
    await storage.create(id, shapeOf(source.length));
    const cut = await storage.openWholeChunk(id, 0, shapeOf(source.length), 1);
    await cut.write([source.subarray(0, 1000)], 0);
    await cut.close();
    expect((await rows.find(id))?.parts, 'a part cut short is not recorded').to.deep.equal({});

    const whole = await storage.openWholeChunk(id, 0, shapeOf(source.length), 1);
    await whole.write([source.subarray(0, 1000), source.subarray(1000, 4000)], 0);
    await whole.write([source.subarray(4000, C)], 4000);
    await whole.sync();
    await whole.close();
    const last = await storage.openWholeChunk(id, 0, shapeOf(source.length), 2);
    await last.write([source.subarray(C)], C);
    await last.sync();
    await last.close();
    const row = await rows.find(id);
    expect(Object.entries(row?.parts ?? {}).map(([n, p]) => [n, p.size])).to.deep.equal([
      ['1', C],
      ['2', 300],
    ]);
    expect(await storage.spool.list(id), 'no spool file').to.deep.equal([]);
    const assetPath = storage.assetPath('owner-s3', storage.assetIdFor(id), 'parts.bin');
    await storage.promote(id, assetPath, source.length);
    expect((await collect(storage.readAsset(assetPath, 0, source.length))).equals(source)).to.equal(true);
    await storage.removeAsset(assetPath);
  });

  it('refuses to begin an upload that would need more than 10,000 parts', async () => {
    const id = randomBytes(16).toString('hex');
    const error = await storage.create(id, shapeOf(10_000 * C + 1)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUploadError(error) && error.type).to.equal('payload_too_large');
    expect(await rows.find(id), 'nothing was begun').to.equal(undefined);
  });
});
