// Shared by the parts of the UploadService contract: streams of irregular pieces (also failing or
// slow ones), expected chunk digests, a storage that notes its syncs, and the fixture each part
// registers in its describe: storage from the factory, the test database's repositories, and
// helpers that create, write and finish uploads through a fresh UploadService.
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { AssetRepository } from '../../../../db/asset-repository.js';
import type { Asset } from '../../../../db/schema.js';
import { SessionRepository } from '../../../../db/session-repository.js';
import { MIN_CHUNK_SIZE } from '../../../../store/chunking.js';
import { isUploadError, type UploadError } from '../../../../store/errors.js';
import { MemoryLocker } from '../../../../store/lock/memory-locker.js';
import type { ChunkStorage } from '../../../../store/storage/chunk-storage.js';
import { UploadPolicy } from '../../../../store/upload-policy.js';
import { UploadService } from '../../../../store/upload-service.js';
import { removeDir, sha256, tempDir } from '../../../helpers/files.js';
import { sharedDatabase } from '../../../helpers/server.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { collect, type StorageFactory } from '../storage-factories.js';

export const C = MIN_CHUNK_SIZE;
export const KiB = 1024;

/** `data` as a stream of irregular pieces, so piece edges never line up with chunk edges. */
export function streamOf(data: Buffer, pieceSize = 300 * KiB + 7): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += pieceSize) yield data.subarray(at, at + pieceSize);
    })(),
  );
}

/** Yields `data`, then fails as a dropped connection would. */
export function failingStreamOf(data: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield* streamOf(data);
      throw new Error('connection reset by peer');
    })(),
  );
}

/** The chunks complete once the first `upTo` bytes of `source` are stored, with their sha256. */
export function chunkDigests(source: Buffer, chunkSize: number, upTo: number): Record<string, string> {
  const digests: Record<string, string> = {};
  for (let n = 1; (n - 1) * chunkSize < source.length; n++) {
    const end = Math.min(n * chunkSize, source.length);
    if (end > upTo) break;
    digests[String(n)] = sha256(source.subarray((n - 1) * chunkSize, end));
  }
  return digests;
}

export async function expectRejection(promise: Promise<unknown>, type: UploadError['type']): Promise<UploadError> {
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
export function slowly(data: Buffer, stop: AbortSignal, sent: { bytes: number }): Readable {
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
export interface Snapshot {
  status: string;
  offset: number;
  uploadLength: number | null;
  chunks: Record<string, string>;
  assetId: string | null;
  storedLength: number | undefined;
  storedSha256: string | undefined;
}

/** What every part of the contract works with; storage and the repositories are set in before(). */
export interface UploadServiceFixture {
  readonly dataDir: string;
  readonly storage: ChunkStorage;
  readonly sessions: SessionRepository;
  readonly assets: AssetRepository;
  readonly owner: string;
  snapshotUpload(id: string): Promise<Snapshot>;
  newStore(over?: { storage?: ChunkStorage; sessions?: SessionRepository; lockDrainMs?: number }): UploadService;
  newUpload(store: UploadService, length: number | undefined): Promise<string>;
  write(store: UploadService, body: Readable, id: string, offset: number): Promise<number>;
  finish(store: UploadService, body: Readable, id: string, offset: number): Promise<Asset>;
}

/** Registers the before/after hooks of one part of the contract (inside its describe) for `factory`. */
export function uploadServiceFixture(factory: StorageFactory): UploadServiceFixture {
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

  return {
    get dataDir() {
      return dataDir;
    },
    get storage() {
      return storage;
    },
    get sessions() {
      return sessions;
    },
    get assets() {
      return assets;
    },
    owner,
    snapshotUpload,
    newStore,
    newUpload,
    write,
    finish,
  };
}
