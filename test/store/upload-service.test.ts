// UploadService on its own, over the test database and a temporary DATA_DIR, fed with Readable
// streams: chunk boundaries and their sha256, resuming mid-chunk in a new instance (no hash state
// in memory), a stream that fails part-way, a body running past the length, creation with a
// deferred length, termination, and another owner's calls refused.
import { randomBytes, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { AssetRepository } from '../../db/asset-repository.js';
import type { Asset } from '../../db/schema.js';
import { SessionRepository } from '../../db/session-repository.js';
import { MIN_CHUNK_SIZE } from '../../store/chunking.js';
import { isUploadError, type UploadError } from '../../store/errors.js';
import { StorageLayout } from '../../store/layout.js';
import { MemoryLocker } from '../../store/lock/memory-locker.js';
import { UploadPolicy } from '../../store/upload-policy.js';
import { UploadService } from '../../store/upload-service.js';
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

describe('UploadService', () => {
  let dataDir: string;
  let layout: StorageLayout;
  let sessions: SessionRepository;
  let assets: AssetRepository;
  let view: { dataDir: string; sessions: SessionRepository; assets: AssetRepository };
  const owner = uniqueOwner('store');
  const locker = new MemoryLocker(5000);

  /** A new service over the same directory and database: a restarted process, no state in memory. */
  function newStore(): UploadService {
    return new UploadService({
      layout,
      sessions,
      assets,
      locker,
      policy: new UploadPolicy({
        assetTypeLimits: new Map([['other', 1024 ** 3]]),
        maxUploadSize: 0,
        uploadsPerHour: 0,
        maxActiveSessions: 0,
      }),
      defaultChunkSize: C,
      sessionTtlMs: 3_600_000,
      writeBufferSize: 256 * KiB,
    });
  }

  async function newUpload(store: UploadService, length: number | undefined): Promise<string> {
    return (await store.create(owner, { length, metadata: { filename: 'store.bin' } })).id;
  }

  /** Appends `body` at `offset`; resolves with the offset stored afterwards. */
  async function write(store: UploadService, body: Readable, id: string, offset: number): Promise<number> {
    return (await store.append(owner, id, { offset, body })).session.uploadOffset;
  }

  /** Appends the last bytes; resolves with the asset they completed. */
  async function finish(store: UploadService, body: Readable, id: string, offset: number): Promise<Asset> {
    const { asset } = await store.append(owner, id, { offset, body });
    if (!asset) throw new Error(`upload ${id} did not become an asset`);
    return asset;
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
    const cuts = [0, Math.floor(1.4 * C), Math.floor(2.6 * C), source.length - 1];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
      const end = await write(store, streamOf(source.subarray(from, to)), id, from);
      expect(end).to.equal(to);
      const snap = await snapshotUpload(view, id);
      expect(snap.offset).to.equal(to);
      expect(snap.chunks, `chunks after writing up to ${to}`).to.deep.equal(chunkDigests(source, C, to));
    }
    const snap = await snapshotUpload(view, id);
    expect(Object.keys(snap.chunks)).to.deep.equal(['1', '2', '3']);
    expect(snap.dataSha256).to.equal(sha256(source.subarray(0, source.length - 1)));

    // the last byte completes the upload, which becomes its asset under the same lock
    const asset = await finish(store, streamOf(source.subarray(source.length - 1)), id, source.length - 1);
    expect(asset.sha256).to.equal(sha256(source));
    expect(Object.keys((await sessions.find(id))?.chunks ?? {})).to.deep.equal(['1', '2', '3', '4']);
  });

  it('resumes in the middle of a chunk in a new instance and still records the right sha256', async () => {
    const source = randomBytes(2 * C + 777);
    const first = newStore();
    const id = await newUpload(first, source.length);
    const middle = C + Math.floor(C / 3);
    expect(await write(first, streamOf(source.subarray(0, middle)), id, 0)).to.equal(middle);
    expect((await snapshotUpload(view, id)).chunks).to.deep.equal({ '1': sha256(source.subarray(0, C)) });

    // a restarted process: same directory and database, no hash state in memory
    const second = newStore();
    expect((await second.get(owner, id)).uploadOffset).to.equal(middle);
    const asset = await finish(second, streamOf(source.subarray(middle)), id, middle);
    const done = await sessions.find(id);
    expect(done?.chunks).to.deep.equal(chunkDigests(source, C, source.length));
    expect(done?.chunks['2']).to.equal(sha256(source.subarray(C, 2 * C)));
    expect(asset.sha256).to.equal(sha256(source));
    expect(asset.size).to.equal(source.length);
  });

  it('leaves the offset at the last durable chunk boundary when the stream fails mid-way', async () => {
    const store = newStore();
    const source = randomBytes(3 * C);
    const id = await newUpload(store, source.length);
    const sent = 2 * C + Math.floor(C / 2);

    let failure: unknown;
    await write(store, failingStreamOf(source.subarray(0, sent)), id, 0).catch((error: unknown) => {
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
    expect((await resumed.get(owner, id)).uploadOffset).to.equal(2 * C);
    expect((await finish(resumed, streamOf(source.subarray(2 * C)), id, 2 * C)).sha256).to.equal(sha256(source));
  });

  it('refuses a body that runs past the length without recording its last chunk', async () => {
    const store = newStore();
    const source = randomBytes(C + 1000);
    const id = await newUpload(store, source.length);
    expect(await write(store, streamOf(source.subarray(0, C + 100)), id, 0)).to.equal(C + 100);
    const before = await snapshotUpload(view, id);

    // exactly the rest of the upload, then more
    const tooLong = Readable.from([source.subarray(C + 100), randomBytes(10)]);
    let failure: unknown;
    await write(store, tooLong, id, C + 100).catch((error: unknown) => {
      failure = error;
    });
    expect((failure as UploadError).type).to.equal('payload_too_large');
    const after = await snapshotUpload(view, id);
    expect(after.offset, 'the upload must not look complete').to.equal(before.offset);
    expect(after.chunks).to.deep.equal(before.chunks);
    expect(after.dataSize ?? 0).to.be.at.most(source.length);

    expect((await finish(store, streamOf(source.subarray(C + 100)), id, C + 100)).sha256).to.equal(sha256(source));
  });

  it('answers a write at the wrong offset with offset_conflict and changes nothing', async () => {
    const store = newStore();
    const source = randomBytes(C + 10);
    const id = await newUpload(store, source.length);
    await write(store, streamOf(source.subarray(0, 100)), id, 0);
    const before = await snapshotUpload(view, id);
    await expectRejection(write(store, streamOf(source.subarray(200)), id, 200), 'offset_conflict');
    expect(await snapshotUpload(view, id)).to.deep.equal(before);
  });

  describe('a deferred length', () => {
    it('is declared once, with a body or without; the last chunk completes on an empty one', async () => {
      const store = newStore();
      const source = randomBytes(C + 4321);
      const id = await newUpload(store, undefined);
      expect((await store.get(owner, id)).uploadLength).to.equal(null);

      // all the bytes, before anyone knows that they are all
      expect(await write(store, streamOf(source), id, 0)).to.equal(source.length);
      const snap = await snapshotUpload(view, id);
      expect(snap.uploadLength).to.equal(null);
      expect(snap.chunks).to.deep.equal({ '1': sha256(source.subarray(0, C)) });

      const declare = (length: number) =>
        store.append(owner, id, { offset: source.length, body: Readable.from([]), declaredLength: length });
      await expectRejection(declare(source.length - 1), 'validation_error');
      expect((await snapshotUpload(view, id)).uploadLength).to.equal(null);

      // the PATCH that declares the length may carry no bytes at all
      const { asset } = await declare(source.length);
      const session = await sessions.find(id);
      expect(session?.uploadLength).to.equal(source.length);
      expect(session?.totalChunks).to.equal(2);
      expect(session?.chunks).to.deep.equal(chunkDigests(source, C, source.length));
      expect(asset?.sha256).to.equal(sha256(source));
    });

    it('becomes where the body ends when the body ends the upload', async () => {
      const store = newStore();
      const source = randomBytes(2 * C);
      const id = await newUpload(store, undefined);
      const { session, asset } = await store.append(owner, id, { offset: 0, body: streamOf(source), ends: true });
      expect(session.uploadLength).to.equal(source.length);
      expect(session.chunks).to.deep.equal(chunkDigests(source, C, source.length));
      expect(asset?.sha256).to.equal(sha256(source));
    });
  });

  describe('terminate', () => {
    it('cancels the session and deletes its bytes; the upload is then gone', async () => {
      const store = newStore();
      const source = randomBytes(C + 10);
      const id = await newUpload(store, source.length);
      await write(store, streamOf(source.subarray(0, C + 5)), id, 0);

      await store.terminate(owner, id);
      const snap = await snapshotUpload(view, id);
      expect(snap.status).to.equal('cancelled');
      expect(snap.dataSize, 'data file deleted').to.equal(null);
      expect(await exists(dataFileOf(dataDir, id))).to.equal(false);
      expect(snap.offset).to.equal(C + 5);

      await expectRejection(write(store, streamOf(source.subarray(C + 5)), id, C + 5), 'gone');
      expect((await expectRejection(store.terminate(owner, id), 'gone')).status).to.equal(410);
    });

    it('answers not_found for an unknown upload', async () => {
      const store = newStore();
      const error = await expectRejection(store.terminate(owner, randomUUID().replaceAll('-', '')), 'not_found');
      expect(error.status).to.equal(404);
    });

    it('retires a completed upload (cancelled, saying so) and keeps its asset', async () => {
      const store = newStore();
      const source = randomBytes(5000);
      const id = await newUpload(store, source.length);
      const asset = await finish(store, streamOf(source), id, 0);
      const retired = await store.terminate(owner, id);
      expect(retired.status).to.equal('cancelled');
      expect(retired.error).to.equal(`terminated after it completed; its asset ${asset.id} is kept`);
      expect(retired.assetId).to.equal(asset.id);
      expect((await expectRejection(store.terminate(owner, id), 'gone')).status, 'once').to.equal(410);
      // REST cannot cancel a completed session: only tus termination retires it
      const other = await newUpload(store, source.length);
      await finish(store, streamOf(source), other, 0);
      await expectRejection(store.transition(owner, other, 'cancelled'), 'invalid_state');
      expect(await exists(dataFileOf(dataDir, id)), 'the data file became the asset').to.equal(false);
      const kept = await assets.find(asset.id);
      expect(kept?.sha256).to.equal(sha256(source));
      const bytes = await readRange(layout.resolve(asset.storagePath), 0, source.length);
      expect(bytes.equals(source)).to.equal(true);
    });
  });

  describe('another owner', () => {
    it("is refused every read and change of someone else's upload, which stays as it was", async () => {
      const store = newStore();
      const source = randomBytes(C + 10);
      const id = await newUpload(store, source.length);
      await write(store, streamOf(source.subarray(0, 100)), id, 0);
      const before = await snapshotUpload(view, id);
      const stranger = uniqueOwner('stranger');
      const attempts: [string, () => Promise<unknown>][] = [
        ['get', () => store.get(stranger, id)],
        ['append', () => store.append(stranger, id, { offset: 100, body: streamOf(source.subarray(100)) })],
        ['putChunk', () => store.putChunk(stranger, id, 2, streamOf(source.subarray(C)))],
        ['complete', () => store.complete(stranger, id)],
        ['pause', () => store.transition(stranger, id, 'paused')],
        ['cancel', () => store.transition(stranger, id, 'cancelled')],
        ['terminate', () => store.terminate(stranger, id)],
        ['concatenate', () => store.concatenate(stranger, { parts: [id], metadata: {} })],
      ];
      for (const [name, attempt] of attempts) {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isUploadError(error) && error.type, name).to.equal('forbidden');
      }
      expect(await snapshotUpload(view, id)).to.deep.equal(before);
    });
  });
});
