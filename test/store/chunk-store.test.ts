// ChunkStore on its own, over the test database and a temporary DATA_DIR, fed with Readable
// streams: chunk boundaries and their sha256, resuming mid-chunk in a new instance (no hash state
// in memory), a stream that fails part-way, a body running past the length, creation with a
// deferred length, and termination.
import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Upload } from '@tus/utils';
import { expect } from 'chai';
import { AssetRepository } from '../../db/asset-repository.js';
import { SessionRepository } from '../../db/session-repository.js';
import { ChunkStore } from '../../store/chunk-store.js';
import { MIN_CHUNK_SIZE } from '../../store/chunking.js';
import { isUploadError, type UploadError } from '../../store/errors.js';
import { StorageLayout } from '../../store/layout.js';
import { readRange, removeDir, sha256, tempDir } from '../helpers/files.js';
import { sharedDatabase } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { dataFileOf, snapshotUpload } from '../helpers/uploads.js';

const C = MIN_CHUNK_SIZE;
const KiB = 1024;

/** `data` as a stream of irregular pieces, so piece edges never line up with chunk edges. */
function streamOf(data: Buffer, pieceSize = 300 * KiB + 7): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += pieceSize) yield data.subarray(at, at + pieceSize);
    })(),
  );
}

/** Yields `data`, then fails as a dropped connection would. */
function failingStreamOf(data: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield* streamOf(data);
      throw new Error('connection reset by peer');
    })(),
  );
}

/** The chunks complete once the first `upTo` bytes of `source` are stored, with their sha256. */
function chunkDigests(source: Buffer, chunkSize: number, upTo: number): Record<string, string> {
  const digests: Record<string, string> = {};
  for (let n = 1; (n - 1) * chunkSize < source.length; n++) {
    const end = Math.min(n * chunkSize, source.length);
    if (end > upTo) break;
    digests[String(n)] = sha256(source.subarray((n - 1) * chunkSize, end));
  }
  return digests;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function expectRejection(promise: Promise<unknown>, type: UploadError['type']): Promise<UploadError> {
  try {
    await promise;
  } catch (error) {
    if (!isUploadError(error)) throw error;
    expect(error.type, error.message).to.equal(type);
    return error;
  }
  throw new Error(`expected an UploadError ${type}`);
}

describe('ChunkStore', () => {
  let dataDir: string;
  let layout: StorageLayout;
  let sessions: SessionRepository;
  let assets: AssetRepository;
  let view: { dataDir: string; sessions: SessionRepository; assets: AssetRepository };

  function newStore(): ChunkStore {
    return new ChunkStore({
      layout,
      sessions,
      assets,
      defaultChunkSize: C,
      sessionTtlMs: 3_600_000,
      writeBufferSize: 256 * KiB,
    });
  }

  async function newUpload(store: ChunkStore, length: number | undefined): Promise<string> {
    const id = randomUUID().replaceAll('-', '');
    await store.requests.run({ ownerId: uniqueOwner('store') }, () =>
      store.create(new Upload({ id, size: length, offset: 0, metadata: { filename: 'store.bin' } })),
    );
    return id;
  }

  before(async () => {
    const database = await sharedDatabase();
    await database.migrate();
    sessions = new SessionRepository(database.db);
    assets = new AssetRepository(database.db);
    dataDir = await tempDir('upload-test-store-');
    layout = new StorageLayout(dataDir);
    await layout.init();
    view = { dataDir, sessions, assets };
  });
  after(async () => {
    await removeDir(dataDir);
  });

  it('records each chunk a write crosses, with the sha256 of exactly its bytes', async () => {
    const store = newStore();
    const source = randomBytes(3 * C + 12_345);
    const id = await newUpload(store, source.length);

    // three writes, each starting and ending inside a chunk
    const cuts = [0, Math.floor(1.4 * C), Math.floor(2.6 * C), source.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
      const end = await store.write(streamOf(source.subarray(from, to)), id, from);
      expect(end).to.equal(to);
      const snap = await snapshotUpload(view, id);
      expect(snap.offset).to.equal(to);
      expect(snap.chunks, `chunks after writing up to ${to}`).to.deep.equal(chunkDigests(source, C, to));
    }
    const snap = await snapshotUpload(view, id);
    expect(Object.keys(snap.chunks)).to.deep.equal(['1', '2', '3', '4']);
    expect(snap.dataSha256).to.equal(sha256(source));

    const asset = await store.finalize(id);
    expect(asset.sha256).to.equal(sha256(source));
  });

  it('resumes in the middle of a chunk in a new instance and still records the right sha256', async () => {
    const source = randomBytes(2 * C + 777);
    const first = newStore();
    const id = await newUpload(first, source.length);
    const middle = C + Math.floor(C / 3);
    expect(await first.write(streamOf(source.subarray(0, middle)), id, 0)).to.equal(middle);
    expect((await snapshotUpload(view, id)).chunks).to.deep.equal({ '1': sha256(source.subarray(0, C)) });

    // a restarted process: same directory and database, no hash state in memory
    const second = newStore();
    expect((await second.getUpload(id)).offset).to.equal(middle);
    expect(await second.write(streamOf(source.subarray(middle)), id, middle)).to.equal(source.length);
    const snap = await snapshotUpload(view, id);
    expect(snap.chunks).to.deep.equal(chunkDigests(source, C, source.length));
    expect(snap.chunks['2']).to.equal(sha256(source.subarray(C, 2 * C)));

    const asset = await second.finalize(id);
    expect(asset.sha256).to.equal(sha256(source));
    expect(asset.size).to.equal(source.length);
  });

  it('leaves the offset at the last durable chunk boundary when the stream fails mid-way', async () => {
    const store = newStore();
    const source = randomBytes(3 * C);
    const id = await newUpload(store, source.length);
    const sent = 2 * C + Math.floor(C / 2);

    let failure: unknown;
    await store.write(failingStreamOf(source.subarray(0, sent)), id, 0).catch((error: unknown) => {
      failure = error;
    });
    expect(String(failure)).to.match(/connection reset/);
    const snap = await snapshotUpload(view, id);
    expect(snap.offset, 'the last chunk boundary before the failure').to.equal(2 * C);
    expect(snap.chunks).to.deep.equal(chunkDigests(source, C, 2 * C));
    // never beyond the bytes on disk, and those bytes are the source's
    const onDisk = (await stat(dataFileOf(dataDir, id))).size;
    expect(onDisk).to.be.at.least(snap.offset);
    expect(sha256(await readRange(dataFileOf(dataDir, id), 0, snap.offset))).to.equal(
      sha256(source.subarray(0, snap.offset)),
    );

    // and the upload resumes from there, in a fresh instance
    const resumed = newStore();
    expect((await resumed.getUpload(id)).offset).to.equal(2 * C);
    expect(await resumed.write(streamOf(source.subarray(2 * C)), id, 2 * C)).to.equal(source.length);
    expect((await resumed.finalize(id)).sha256).to.equal(sha256(source));
  });

  it('refuses a body that runs past the length without recording its last chunk', async () => {
    const store = newStore();
    const source = randomBytes(C + 1000);
    const id = await newUpload(store, source.length);
    expect(await store.write(streamOf(source.subarray(0, C + 100)), id, 0)).to.equal(C + 100);
    const before = await snapshotUpload(view, id);

    // exactly the rest of the upload, then more
    const tooLong = Readable.from([source.subarray(C + 100), randomBytes(10)]);
    let failure: unknown;
    await store.write(tooLong, id, C + 100).catch((error: unknown) => {
      failure = error;
    });
    expect(String(failure)).to.match(/past the upload length/);
    const after = await snapshotUpload(view, id);
    expect(after.offset, 'the upload must not look complete').to.equal(before.offset);
    expect(after.chunks).to.deep.equal(before.chunks);
    expect(after.dataSize ?? 0).to.be.at.most(source.length);

    expect(await store.write(streamOf(source.subarray(C + 100)), id, C + 100)).to.equal(source.length);
    expect((await store.finalize(id)).sha256).to.equal(sha256(source));
  });

  it('answers a write at the wrong offset with offset_conflict and changes nothing', async () => {
    const store = newStore();
    const source = randomBytes(C + 10);
    const id = await newUpload(store, source.length);
    await store.write(streamOf(source.subarray(0, 100)), id, 0);
    const before = await snapshotUpload(view, id);
    await expectRejection(store.write(streamOf(source.subarray(200)), id, 200), 'offset_conflict');
    expect(await snapshotUpload(view, id)).to.deep.equal(before);
  });

  describe('declareUploadLength', () => {
    it('sets a deferred length once, and the last chunk completes on an empty write', async () => {
      const store = newStore();
      const source = randomBytes(C + 4321);
      const id = await newUpload(store, undefined);
      expect((await store.getUpload(id)).sizeIsDeferred).to.equal(true);

      // all the bytes, before anyone knows that they are all
      expect(await store.write(streamOf(source), id, 0)).to.equal(source.length);
      let snap = await snapshotUpload(view, id);
      expect(snap.uploadLength).to.equal(null);
      expect(snap.chunks).to.deep.equal({ '1': sha256(source.subarray(0, C)) });

      await expectRejection(store.declareUploadLength(id, source.length - 1), 'validation_error');
      expect((await snapshotUpload(view, id)).uploadLength).to.equal(null);

      await store.declareUploadLength(id, source.length);
      const session = await sessions.find(id);
      expect(session?.uploadLength).to.equal(source.length);
      expect(session?.totalChunks).to.equal(2);
      expect((await store.getUpload(id)).size).to.equal(source.length);
      await expectRejection(store.declareUploadLength(id, source.length + 1), 'validation_error');

      // the PATCH that declares the length may carry no bytes at all
      expect(await store.write(Readable.from([]), id, source.length)).to.equal(source.length);
      snap = await snapshotUpload(view, id);
      expect(snap.chunks).to.deep.equal(chunkDigests(source, C, source.length));
      expect((await store.finalize(id)).sha256).to.equal(sha256(source));
    });
  });

  describe('remove', () => {
    it('cancels the session and deletes its bytes; the upload is then gone', async () => {
      const store = newStore();
      const source = randomBytes(C + 10);
      const id = await newUpload(store, source.length);
      await store.write(streamOf(source.subarray(0, C + 5)), id, 0);

      await store.remove(id);
      const snap = await snapshotUpload(view, id);
      expect(snap.status).to.equal('cancelled');
      expect(snap.dataSize, 'data file deleted').to.equal(null);
      expect(await exists(dataFileOf(dataDir, id))).to.equal(false);
      expect(snap.offset).to.equal(C + 5);

      expect((await expectRejection(store.getUpload(id), 'gone')).status).to.equal(410);
      await expectRejection(store.write(streamOf(source.subarray(C + 5)), id, C + 5), 'gone');
      await expectRejection(store.remove(id), 'gone');
    });

    it('answers not_found for an unknown upload', async () => {
      const store = newStore();
      const error = await expectRejection(store.remove(randomUUID().replaceAll('-', '')), 'not_found');
      expect(error.status).to.equal(404);
    });

    it('refuses to remove a completed upload and keeps its asset', async () => {
      const store = newStore();
      const source = randomBytes(5000);
      const id = await newUpload(store, source.length);
      await store.write(streamOf(source), id, 0);
      const asset = await store.finalize(id);
      await expectRejection(store.remove(id), 'invalid_state');
      expect((await sessions.find(id))?.status).to.equal('completed');
      expect(await exists(dataFileOf(dataDir, id)), 'the data file became the asset').to.equal(false);
      const kept = await assets.find(asset.id);
      expect(kept?.sha256).to.equal(sha256(source));
      const bytes = await readRange(layout.resolve(asset.storagePath), 0, source.length);
      expect(bytes.equals(source)).to.equal(true);
    });
  });
});
