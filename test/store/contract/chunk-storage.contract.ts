// The ChunkStorage contract: what the upload service relies on from any byte storage. Writes at
// and inside chunk boundaries read back exactly; a sink reopened at the durable offset continues
// the same bytes (resume after a cut); an upload that held acknowledged bytes and lost them is an
// error, an empty one is recreated; promotion into an asset is idempotent and keeps the bytes;
// removal is final and may be repeated.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import type { ChunkStorage } from '../../../store/storage/chunk-storage.js';
import { removeDir, tempDir } from '../../helpers/files.js';
import { collect, type StorageFactory } from './storage-factories.js';

const C = 5 * 1024 * 1024;
const id = () => randomBytes(16).toString('hex');

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
      if (dir) await removeDir(dir);
    });

    it('reads back bytes written at and inside chunk boundaries, across sinks reopened at the durable offset', async () => {
      const upload = id();
      const source = randomBytes(2 * C + 1234);
      await storage.create(upload);
      const cuts = [0, 1000, C, C + 17, 2 * C, source.length];
      for (let i = 0; i + 1 < cuts.length; i++) {
        const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
        // a sink per piece: every write is a new request resuming at the stored offset
        const sink = await storage.openSink(upload, from);
        await sink.write([source.subarray(from, from + 10), source.subarray(from + 10, to)], from);
        await sink.sync();
        await sink.close();
        expect(await storage.storedLength(upload)).to.be.at.least(to);
      }
      expect((await collect(storage.read(upload, 0, source.length))).equals(source)).to.equal(true);
      const middle = await collect(storage.read(upload, C - 5, C + 5));
      expect(middle.equals(source.subarray(C - 5, C + 5))).to.equal(true);
      expect((await collect(storage.read(upload, 7, 7))).length).to.equal(0);
    });

    it('refuses to create an upload twice', async () => {
      const upload = id();
      await storage.create(upload);
      const error = await storage.create(upload).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(Error);
    });

    it('recreates an empty upload whose storage is gone, but not one that held acknowledged bytes', async () => {
      const empty = id();
      await storage.create(empty);
      await storage.remove(empty);
      const sink = await storage.openSink(empty, 0);
      await sink.write([Buffer.from('abc')], 0);
      await sink.sync();
      await sink.close();
      expect((await collect(storage.read(empty, 0, 3))).toString()).to.equal('abc');

      const lost = id();
      await storage.create(lost);
      await storage.remove(lost);
      const error = await storage.openSink(lost, 100).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, 'acknowledged bytes cannot silently become an empty file').to.be.instanceOf(Error);
    });

    it('promotes an upload into an asset once, keeping its bytes; a repeat finds it moved', async () => {
      const upload = id();
      const source = randomBytes(C + 1);
      await storage.create(upload);
      const sink = await storage.openSink(upload, 0);
      await sink.write([source], 0);
      await sink.sync();
      await sink.close();
      const assetPath = storage.assetPath('owner-1', randomBytes(16).toString('hex'), 'file.bin');
      const before = await storage.locate(upload, assetPath);
      expect(before).to.deep.equal(storage.sourceOf(upload));
      await storage.promote(upload, assetPath);
      // the repeat a crash-repair makes
      await storage.promote(upload, assetPath);
      expect(await storage.storedLength(upload), 'the upload no longer holds the bytes').to.equal(undefined);
      const after = await storage.locate(upload, assetPath);
      expect(after).to.deep.equal(storage.assetSource(assetPath));
      expect((await readFile(storage.assetSource(assetPath).path)).equals(source)).to.equal(true);
      await storage.removeAsset(assetPath);
      expect(await storage.locate(upload, assetPath)).to.equal(undefined);
    });

    it('removes an upload for good, and a second removal is no error', async () => {
      const upload = id();
      await storage.create(upload);
      await storage.remove(upload);
      await storage.remove(upload);
      expect(await storage.storedLength(upload)).to.equal(undefined);
    });
  });
}
