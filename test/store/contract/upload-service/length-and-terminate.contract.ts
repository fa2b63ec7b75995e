// The UploadService contract: a deferred length (declared once, with a body or without) and
// termination.
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { sha256 } from '../../../helpers/files.js';
import { collect, type StorageFactory } from '../storage-factories.js';
import { C, chunkDigests, expectRejection, streamOf, uploadServiceFixture } from './fixture.js';

export function uploadServiceLengthAndTerminateContract(factory: StorageFactory): void {
  describe(`UploadService contract: ${factory.name}`, () => {
    const fx = uploadServiceFixture(factory);
    const { owner, snapshotUpload, newStore, newUpload, write, finish } = fx;

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
        const session = await fx.sessions.find(id);
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
        expect(await fx.storage.storedLength(id), 'the bytes became the asset').to.equal(undefined);
        const kept = await fx.assets.find(asset.id);
        expect(kept?.sha256).to.equal(sha256(source));
        const bytes = await collect(fx.storage.readAsset(asset.storagePath, 0, asset.size));
        expect(bytes.equals(source)).to.equal(true);
      });
    });
  });
}
