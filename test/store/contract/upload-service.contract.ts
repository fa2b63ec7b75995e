// The UploadService contract, run over every ChunkStorage (storage-factories.ts), the test database
// and a temporary directory, fed with Readable streams: chunk boundaries and their sha256,
// resuming mid-chunk in a new instance (no hash state in memory), a stream that fails part-way, a
// body running past the length, a deferred length, termination, another owner's calls refused,
// the durability order (no offset recorded before its bytes are synced) and concurrent writers.
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { AssetRepository } from '../../../db/asset-repository.js';
import type { Asset } from '../../../db/schema.js';
import { SessionRepository } from '../../../db/session-repository.js';
import { MIN_CHUNK_SIZE } from '../../../store/chunking.js';
import { isUploadError, type UploadError } from '../../../store/errors.js';
import { MemoryLocker } from '../../../store/lock/memory-locker.js';
import type { ChunkStorage } from '../../../store/storage/chunk-storage.js';
import { UploadPolicy } from '../../../store/upload-policy.js';
import { UploadService } from '../../../store/upload-service.js';
import { removeDir, sha256, tempDir } from '../../helpers/files.js';
import { sharedDatabase } from '../../helpers/server.js';
import { watchSyncs } from '../../helpers/sync-watch.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { waitFor } from '../../helpers/wait.js';
import { collect, type StorageFactory } from './storage-factories.js';

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

/** `data` in 256 KiB pieces with a pause between, ending early once `stop` is aborted. */
function slowly(data: Buffer, stop: AbortSignal, sent: { bytes: number }): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < data.length && !stop.aborted; at += 256 * KiB) {
        sent.bytes = at;
        yield data.subarray(at, at + 256 * KiB);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(),
  );
}

/** What the service holds of an upload: its row's progress and its stored bytes. */
interface Snapshot {
  status: string;
  offset: number;
  uploadLength: number | null;
  chunks: Record<string, string>;
  assetId: string | null;
  storedLength: number | undefined;
  storedSha256: string | undefined;
}

export function uploadServiceContract(factory: StorageFactory): void {
  describe(`UploadService contract: ${factory.name}`, () => {
    let dataDir: string;
    let storage: ChunkStorage;
    let sessions: SessionRepository;
    let assets: AssetRepository;
    const owner = uniqueOwner('store');
    const locker = new MemoryLocker(5000);

    async function snapshotUpload(id: string): Promise<Snapshot> {
      const session = await sessions.find(id);
      if (!session) throw new Error(`no session ${id}`);
      const storedLength = await storage.storedLength(id);
      // object storage cannot read its parts back before completion: there the asset is compared
      const readable = storedLength !== undefined && storage.readsWholeUploads;
      const stored = readable ? await collect(storage.read(id, 0, storedLength)) : undefined;
      return {
        status: session.status,
        offset: session.uploadOffset,
        uploadLength: session.uploadLength,
        chunks: session.chunks,
        assetId: session.assetId,
        storedLength,
        storedSha256: stored && sha256(stored),
      };
    }

    /** A new service over the same directory and database: a restarted process, no state in memory. */
    function newStore(
      over: { storage?: ChunkStorage; sessions?: SessionRepository; lockDrainMs?: number } = {},
    ): UploadService {
      return new UploadService({
        storage: over.storage ?? storage,
        sessions: over.sessions ?? sessions,
        assets,
        ...(over.lockDrainMs === undefined ? {} : { lockDrainMs: over.lockDrainMs }),
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

    before(async function () {
      const why = factory.unavailable();
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
      const database = await sharedDatabase();
      await database.migrate();
      sessions = new SessionRepository(database.db);
      assets = new AssetRepository(database.db);
      dataDir = await tempDir('upload-test-store-');
      storage = await factory.make(dataDir);
    });
    after(async () => {
      if (storage) await factory.cleanup?.(storage);
      if (dataDir) await removeDir(dataDir);
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
        const snap = await snapshotUpload(id);
        expect(snap.offset).to.equal(to);
        expect(snap.chunks, `chunks after writing up to ${to}`).to.deep.equal(chunkDigests(source, C, to));
      }
      const snap = await snapshotUpload(id);
      expect(Object.keys(snap.chunks)).to.deep.equal(['1', '2', '3']);
      if (storage.readsWholeUploads) {
        expect(snap.storedSha256).to.equal(sha256(source.subarray(0, source.length - 1)));
      }

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
      expect((await snapshotUpload(id)).chunks).to.deep.equal({ '1': sha256(source.subarray(0, C)) });

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
      const snap = await snapshotUpload(id);
      expect(snap.offset, 'the last chunk boundary before the failure').to.equal(2 * C);
      expect(snap.chunks).to.deep.equal(chunkDigests(source, C, 2 * C));
      // never beyond the bytes stored, and those bytes are the source's
      expect(snap.storedLength).to.be.at.least(snap.offset);
      if (storage.readsWholeUploads) {
        const stored = await collect(storage.read(id, 0, snap.offset));
        expect(sha256(stored)).to.equal(sha256(source.subarray(0, snap.offset)));
      }

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
      const before = await snapshotUpload(id);

      // exactly the rest of the upload, then more
      const tooLong = Readable.from([source.subarray(C + 100), randomBytes(10)]);
      let failure: unknown;
      await write(store, tooLong, id, C + 100).catch((error: unknown) => {
        failure = error;
      });
      expect((failure as UploadError).type).to.equal('payload_too_large');
      const after = await snapshotUpload(id);
      expect(after.offset, 'the upload must not look complete').to.equal(before.offset);
      expect(after.chunks).to.deep.equal(before.chunks);
      expect(after.storedLength ?? 0).to.be.at.most(source.length);

      expect((await finish(store, streamOf(source.subarray(C + 100)), id, C + 100)).sha256).to.equal(sha256(source));
    });

    it('answers a write at the wrong offset with offset_conflict and changes nothing', async () => {
      const store = newStore();
      const source = randomBytes(C + 10);
      const id = await newUpload(store, source.length);
      await write(store, streamOf(source.subarray(0, 100)), id, 0);
      const before = await snapshotUpload(id);
      await expectRejection(write(store, streamOf(source.subarray(200)), id, 200), 'offset_conflict');
      expect(await snapshotUpload(id)).to.deep.equal(before);
    });

    describe('a deferred length', () => {
      it('is declared once, with a body or without; the last chunk completes on an empty one', async () => {
        const store = newStore();
        const source = randomBytes(C + 4321);
        const id = await newUpload(store, undefined);
        expect((await store.get(owner, id)).uploadLength).to.equal(null);

        // all the bytes, before anyone knows that they are all
        expect(await write(store, streamOf(source), id, 0)).to.equal(source.length);
        const snap = await snapshotUpload(id);
        expect(snap.uploadLength).to.equal(null);
        expect(snap.chunks).to.deep.equal({ '1': sha256(source.subarray(0, C)) });

        const declare = (length: number) =>
          store.append(owner, id, { offset: source.length, body: Readable.from([]), declaredLength: length });
        await expectRejection(declare(source.length - 1), 'validation_error');
        expect((await snapshotUpload(id)).uploadLength).to.equal(null);

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
        const snap = await snapshotUpload(id);
        expect(snap.status).to.equal('cancelled');
        expect(snap.storedLength, 'its bytes deleted').to.equal(undefined);
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
        expect(await storage.storedLength(id), 'the bytes became the asset').to.equal(undefined);
        const kept = await assets.find(asset.id);
        expect(kept?.sha256).to.equal(sha256(source));
        const bytes = await collect(storage.readAsset(asset.storagePath, 0, asset.size));
        expect(bytes.equals(source)).to.equal(true);
      });
    });

    it('never records an offset or a chunk before the bytes under it are synced', async () => {
      const synced = new Map<string, number>();
      const violations: string[] = [];
      let records = 0;
      class WatchedSessions extends SessionRepository {
        override async recordProgressBatch(...args: Parameters<SessionRepository['recordProgressBatch']>) {
          for (const { id, offset } of args[0]) {
            records++;
            if (offset > (synced.get(id) ?? 0)) violations.push(`offset ${offset} of ${id} before its sync`);
          }
          return super.recordProgressBatch(...args);
        }
        override async recordChunk(...args: Parameters<SessionRepository['recordChunk']>) {
          const [, id, n] = args;
          records++;
          if ((synced.get(id) ?? 0) < (n - 1) * C + 1) violations.push(`chunk ${n} of ${id} before its sync`);
          return super.recordChunk(...args);
        }
      }
      const database = await sharedDatabase();
      const store = newStore({ storage: watchSyncs(storage, synced), sessions: new WatchedSessions(database.db) });
      const source = randomBytes(3 * C + 99);
      const tusId = await newUpload(store, source.length);
      for (const [from, to] of [
        [0, C + 10],
        [C + 10, 2 * C + 50],
        [2 * C + 50, source.length],
      ] as const) {
        await store.append(owner, tusId, { offset: from, body: streamOf(source.subarray(from, to)) });
      }
      const restId = await newUpload(store, source.length);
      for (const n of [4, 2, 1, 3]) {
        const chunk = source.subarray((n - 1) * C, n * C);
        await store.putChunk(owner, restId, n, streamOf(chunk));
      }
      expect(records, 'the watch saw the records').to.be.greaterThan(6);
      expect(violations).to.deep.equal([]);
      expect((await store.complete(owner, restId)).sha256).to.equal(sha256(source));
    });

    it('lets one writer at a time: a second append asks the first to let go, then finds the offset moved', async () => {
      const store = newStore({ lockDrainMs: 50 });
      const source = randomBytes(3 * C);
      const id = await newUpload(store, source.length);
      const release = new AbortController();
      const sent = { bytes: 0 };
      const first = store.append(owner, id, { offset: 0, body: slowly(source, release.signal, sent), release });
      await waitFor(async () => sent.bytes > 512 * KiB, { what: 'the first write to be under way' });
      const second = store.append(owner, id, { offset: 0, body: streamOf(randomBytes(3 * C)) });
      const [a, b] = await Promise.allSettled([first, second]);
      if (a.status !== 'fulfilled') throw a.reason;
      expect(release.signal.aborted, 'the first was asked to let go').to.equal(true);
      const offset = a.value.session.uploadOffset;
      expect(offset).to.be.within(1, source.length - 1);
      expect(b.status === 'rejected' && isUploadError(b.reason) && b.reason.type).to.equal('offset_conflict');
      if (storage.readsWholeUploads) {
        const stored = await collect(storage.read(id, 0, offset));
        expect(stored.equals(source.subarray(0, offset)), "only the first writer's bytes").to.equal(true);
      }
      const asset = await finish(store, streamOf(source.subarray(offset)), id, offset);
      expect(asset.sha256, "the asset holds only the first writer's bytes").to.equal(sha256(source));
    });

    it('stores REST chunks in any order and several at once, and completes them into the asset', async () => {
      const store = newStore();
      const source = randomBytes(3 * C + 5);
      const id = await newUpload(store, source.length);
      await Promise.all(
        [3, 1, 4, 2].map((n) => store.putChunk(owner, id, n, streamOf(source.subarray((n - 1) * C, n * C)))),
      );
      expect((await sessions.find(id))?.chunks).to.deep.equal(chunkDigests(source, C, source.length));
      expect((await store.complete(owner, id)).sha256).to.equal(sha256(source));
    });

    describe('another owner', () => {
      it("is refused every read and change of someone else's upload, which stays as it was", async () => {
        const store = newStore();
        const source = randomBytes(C + 10);
        const id = await newUpload(store, source.length);
        await write(store, streamOf(source.subarray(0, 100)), id, 0);
        const before = await snapshotUpload(id);
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
        expect(await snapshotUpload(id)).to.deep.equal(before);
      });
    });
  });
}
