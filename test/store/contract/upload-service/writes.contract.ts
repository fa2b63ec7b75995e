// The UploadService contract, writes: chunk boundaries and their sha256, resuming mid-chunk in a
// new instance (no hash state in memory), a stream that fails part-way, a body running past the
// length, and a write at the wrong offset.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import type { UploadError } from '../../../../store/errors.js';
import { sha256 } from '../../../helpers/files.js';
import { collect, type StorageFactory } from '../storage-factories.js';
import { C, chunkDigests, expectRejection, failingStreamOf, streamOf, uploadServiceFixture } from './fixture.js';

export function uploadServiceWritesContract(factory: StorageFactory): void {
  describe(`UploadService contract: ${factory.name}`, () => {
    const fx = uploadServiceFixture(factory);
    const { owner, snapshotUpload, newStore, newUpload, write, finish } = fx;

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
      if (fx.storage.readsWholeUploads) {
        expect(snap.storedSha256).to.equal(sha256(source.subarray(0, source.length - 1)));
      }

      // the last byte completes the upload, which becomes its asset under the same lock
      const asset = await finish(store, streamOf(source.subarray(source.length - 1)), id, source.length - 1);
      expect(asset.sha256).to.equal(sha256(source));
      expect(Object.keys((await fx.sessions.find(id))?.chunks ?? {})).to.deep.equal(['1', '2', '3', '4']);
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
      const done = await fx.sessions.find(id);
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
      if (fx.storage.readsWholeUploads) {
        const stored = await collect(fx.storage.read(id, 0, snap.offset));
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
  });
}
