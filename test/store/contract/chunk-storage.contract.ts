// The ChunkStorage contract: what the upload service relies on from any byte storage. Writes at
// and inside chunk boundaries, through sinks reopened at the durable offset (resume after a cut),
// become an asset holding exactly those bytes, readable whole and by range; an upload that held
// acknowledged bytes and lost them is an error, an empty one is recreated; promotion is
// idempotent; removal is final and may be repeated. Reading an upload in progress back is
// checked where the storage can (`readsWholeUploads`); every storage reads back its spooled chunk.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import type { ChunkStorage, UploadShape } from '../../../store/storage/chunk-storage.js';
import { removeDir, tempDir } from '../../helpers/files.js';
import { collect, type StorageFactory } from './storage-factories.js';

const C = 5 * 1024 * 1024;
const id = () => randomBytes(16).toString('hex');
const shapeOf = (length: number | undefined): UploadShape => ({
  ownerId: 'owner-1',
  filename: 'file.bin',
  contentType: 'application/octet-stream',
  chunkSize: C,
  length,
});

export function chunkStorageContract(factory: StorageFactory): void {
  describe(`ChunkStorage contract: ${factory.name}`, () => {
    let dir: string;
    let storage: ChunkStorage;
    before(async function () {
      const why = factory.unavailable();
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
      dir = await tempDir('upload-test-storage-');
      storage = await factory.make(dir);
    });
    after(async () => {
      if (storage) await factory.cleanup?.(storage);
      if (dir) await removeDir(dir);
    });

    /** Writes `source` through one sink per piece between `cuts`, as resumed requests do. */
    async function writeInPieces(upload: string, source: Buffer, cuts: number[], shape: UploadShape): Promise<void> {
      for (let i = 0; i + 1 < cuts.length; i++) {
        const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
        const sink = await storage.openSink(upload, from, shape);
        // never across a chunk's end, as the writers never do
        for (let at = from; at < to; ) {
          const end = Math.min(to, (Math.floor(at / C) + 1) * C);
          await sink.write([source.subarray(at, at + 10), source.subarray(at + 10, end)], at);
          at = end;
        }
        await sink.sync();
        await sink.close();
        expect(await storage.storedLength(upload)).to.be.at.least(to);
      }
    }

    const assetOf = (upload: string) => storage.assetPath('owner-1', storage.assetIdFor(upload), 'file.bin');

    it('keeps bytes written at and inside chunk boundaries across sinks reopened at the durable offset', async () => {
      const upload = id();
      const source = randomBytes(2 * C + 1234);
      const shape = shapeOf(source.length);
      await storage.create(upload, shape);
      await writeInPieces(upload, source, [0, 1000, C, C + 17, 2 * C, 2 * C + 100, source.length], shape);
      if (storage.readsWholeUploads) {
        expect((await collect(storage.read(upload, 0, source.length))).equals(source)).to.equal(true);
        const middle = await collect(storage.read(upload, C - 5, C + 5));
        expect(middle.equals(source.subarray(C - 5, C + 5))).to.equal(true);
      }
      expect((await collect(storage.read(upload, 7, 7))).length).to.equal(0);
      const assetPath = assetOf(upload);
      await storage.promote(upload, assetPath, source.length);
      expect((await collect(storage.readAsset(assetPath, 0, source.length))).equals(source)).to.equal(true);
      const middle = await collect(storage.readAsset(assetPath, C - 5, C + 5));
      expect(middle.equals(source.subarray(C - 5, C + 5)), 'a range across a chunk boundary').to.equal(true);
      await storage.removeAsset(assetPath);
    });

    it('reads back the bytes of a chunk that is not whole yet, where a resumed hash needs them', async () => {
      const upload = id();
      const source = randomBytes(C + 5000);
      const shape = shapeOf(source.length);
      await storage.create(upload, shape);
      await writeInPieces(upload, source, [0, C, C + 3000], shape);
      const spooled = await collect(storage.read(upload, C, C + 3000));
      expect(spooled.equals(source.subarray(C, C + 3000))).to.equal(true);
      const file = storage.sourceOf(upload, C);
      const held = await readFile(file.path);
      expect(held.subarray(C - file.from, C + 3000 - file.from).equals(spooled)).to.equal(true);
      await storage.remove(upload);
    });

    it('reads a fully received upload back whole once sealed (a part to be joined), and removes it', async () => {
      const upload = id();
      const source = randomBytes(C + 4321);
      await storage.create(upload, shapeOf(source.length));
      await writeInPieces(upload, source, [0, C + 100, source.length], shapeOf(source.length));
      await storage.seal?.(upload, source.length);
      await storage.seal?.(upload, source.length);
      expect((await collect(storage.read(upload, 0, source.length))).equals(source)).to.equal(true);
      const across = await collect(storage.read(upload, C - 3, C + 3));
      expect(across.equals(source.subarray(C - 3, C + 3))).to.equal(true);
      await storage.remove(upload);
      expect(await storage.storedLength(upload)).to.equal(undefined);
    });

    it('refuses to create an upload twice', async () => {
      const upload = id();
      await storage.create(upload, shapeOf(10));
      const error = await storage.create(upload, shapeOf(10)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(Error);
      await storage.remove(upload);
    });

    it('recreates an empty upload whose storage is gone, but not one that held acknowledged bytes', async () => {
      const empty = id();
      await storage.create(empty, shapeOf(3));
      await storage.remove(empty);
      const sink = await storage.openSink(empty, 0, shapeOf(undefined));
      await sink.write([Buffer.from('abc')], 0);
      await sink.sync();
      await sink.close();
      expect((await collect(storage.read(empty, 0, 3))).toString()).to.equal('abc');
      await storage.remove(empty);

      const lost = id();
      await storage.create(lost, shapeOf(200));
      await storage.remove(lost);
      const error = await storage.openSink(lost, 100, shapeOf(200)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, 'acknowledged bytes cannot silently become an empty upload').to.be.instanceOf(Error);
    });

    it('promotes an upload into an asset once, keeping its bytes; a repeat finds it moved', async () => {
      const upload = id();
      const source = randomBytes(C + 1);
      await storage.create(upload, shapeOf(source.length));
      await writeInPieces(upload, source, [0, source.length], shapeOf(source.length));
      const assetPath = assetOf(upload);
      expect(await storage.locate(upload, assetPath)).to.equal('upload');
      await storage.promote(upload, assetPath, source.length);
      // the repeat a crash-repair makes
      await storage.promote(upload, assetPath, source.length);
      expect(await storage.storedLength(upload), 'the upload no longer holds the bytes').to.equal(undefined);
      expect(await storage.locate(upload, assetPath)).to.equal('asset');
      expect((await collect(storage.readAsset(assetPath, 0, source.length))).equals(source)).to.equal(true);
      const file = storage.assetFile(assetPath);
      if (file !== undefined) expect((await readFile(file)).equals(source)).to.equal(true);
      await storage.removeAsset(assetPath);
      expect(await storage.locate(upload, assetPath)).to.equal(undefined);
    });

    it('promotes an empty upload into an empty asset', async () => {
      const upload = id();
      await storage.create(upload, shapeOf(0));
      const assetPath = assetOf(upload);
      await storage.promote(upload, assetPath, 0);
      expect(await storage.locate(upload, assetPath)).to.equal('asset');
      expect((await collect(storage.readAsset(assetPath, 0, 0))).length).to.equal(0);
      await storage.removeAsset(assetPath);
    });

    it('keeps a last chunk whose length was unknown while it arrived, and promotes it whole', async () => {
      const upload = id();
      const source = randomBytes(C + 777);
      await storage.create(upload, shapeOf(undefined));
      await writeInPieces(upload, source, [0, C + 100, source.length], shapeOf(undefined));
      const assetPath = assetOf(upload);
      await storage.promote(upload, assetPath, source.length);
      expect((await collect(storage.readAsset(assetPath, 0, source.length))).equals(source)).to.equal(true);
      await storage.removeAsset(assetPath);
    });

    it('leaves out of the asset bytes a failed request stored past the length', async () => {
      const upload = id();
      const source = randomBytes(C + 1000);
      await storage.create(upload, shapeOf(undefined));
      await writeInPieces(upload, source, [0, source.length], shapeOf(undefined));
      // a request that wrote on and then failed: never synced, never acknowledged
      const failed = await storage.openSink(upload, source.length, shapeOf(undefined));
      await failed.write([randomBytes(500)], source.length);
      await failed.close();
      const assetPath = assetOf(upload);
      await storage.promote(upload, assetPath, source.length);
      expect((await collect(storage.readAsset(assetPath, 0, source.length + 500))).equals(source)).to.equal(true);
      await storage.removeAsset(assetPath);
    });

    it('removes an upload for good, and a second removal is no error', async () => {
      const upload = id();
      await storage.create(upload, shapeOf(5));
      await storage.remove(upload);
      await storage.remove(upload);
      expect(await storage.storedLength(upload)).to.equal(undefined);
    });
  });
}
