// The UploadService contract: the durability order (no offset recorded before its bytes are
// synced), concurrent writers, REST chunks in any order, and another owner's calls refused.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { SessionRepository } from '../../../../db/session-repository.js';
import { isUploadError } from '../../../../store/errors.js';
import { sha256 } from '../../../helpers/files.js';
import { sharedDatabase } from '../../../helpers/server.js';
import { watchSyncs } from '../../../helpers/sync-watch.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { waitFor } from '../../../helpers/wait.js';
import { collect, type StorageFactory } from '../storage-factories.js';
import { C, chunkDigests, KiB, slowly, streamOf, uploadServiceFixture } from './fixture.js';

export function uploadServiceDurabilityAndOwnersContract(factory: StorageFactory): void {
  describe(`UploadService contract: ${factory.name}`, () => {
    const fx = uploadServiceFixture(factory);
    const { owner, snapshotUpload, newStore, newUpload, write } = fx;

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
      const store = newStore({ storage: watchSyncs(fx.storage, synced), sessions: new WatchedSessions(database.db) });
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
      if (fx.storage.readsWholeUploads) {
        const stored = await collect(fx.storage.read(id, 0, offset));
        expect(stored.equals(source.subarray(0, offset)), "only the first writer's bytes").to.equal(true);
      }
      const asset = await fx.finish(store, streamOf(source.subarray(offset)), id, offset);
      expect(asset.sha256, "the asset holds only the first writer's bytes").to.equal(sha256(source));
    });

    it('stores REST chunks in any order and several at once, and completes them into the asset', async () => {
      const store = newStore();
      const source = randomBytes(3 * C + 5);
      const id = await newUpload(store, source.length);
      await Promise.all(
        [3, 1, 4, 2].map((n) => store.putChunk(owner, id, n, streamOf(source.subarray((n - 1) * C, n * C)))),
      );
      expect((await fx.sessions.find(id))?.chunks).to.deep.equal(chunkDigests(source, C, source.length));
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
