// Attacks on the limits (findings 3, 5 and 6, and the per-user write cap): asset types that name
// properties every plain object inherits, partial uploads used to get around the caps, parallel
// creations racing one count, a final upload listing one part many times, and more data requests
// at once than allowed. Each asserts the refusal and that nothing was created or changed.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { expectError, uniqueOwner } from '../helpers/rest.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { createUpload, encodeMetadata, OpenPatch, patchUpload, tusRequest } from '../helpers/tus-http.js';
import { tusSend } from '../helpers/tus-send.js';
import { snapshotUpload } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const GiB = 1024 ** 3;
const INHERITED = ['constructor', '__proto__', 'tostring', 'hasownproperty', 'valueof', 'isprototypeof'];

async function sessionsOf(server: TestServer, owner: string) {
  return server.sessions.listByOwner(owner, { limit: 100, offset: 0 });
}

describe('security: limits', () => {
  describe('with the default limits', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => {
      await server.stop();
    });

    for (const assetType of INHERITED) {
      it(`refuses asset_type ${assetType} on every API and creates nothing`, async () => {
        const owner = uniqueOwner('types');
        const api = new StorageApi(server.url, owner);
        const rest = await api.initiateRaw({ filename: 'x.bin', file_size: 1e15, asset_type: assetType });
        expectError(rest, 400, 'validation_error');
        const tus = await tusSend('POST', server.tusUrl, owner, {
          'Upload-Length': String(10 * GiB),
          'Upload-Metadata': encodeMetadata({ filename: 'x.bin', asset_type: assetType }),
        });
        expect(tus.status, tus.text).to.equal(400);
        const single = await api.uploadRaw(randomBytes(1000), { filename: 'x.bin', asset_type: assetType });
        expectError(single, 400, 'validation_error');
        expect(await sessionsOf(server, owner)).to.deep.equal([]);
        // a form names its type after the file: the file is in before the type can be refused
        const form = new FormData();
        form.append('file', new Blob([randomBytes(1000)]), 'x.bin');
        form.append('asset_type', assetType);
        expectError(await api.uploadForm(form), 400, 'validation_error');
        expect(await server.assets.listByOwner(owner, 10, 0)).to.deep.equal([]);
      });
    }

    it("bounds a partial upload by its own asset type's limit", async () => {
      const owner = uniqueOwner('partial-size');
      const over: Record<string, string>[] = [
        { 'Upload-Length': String(6 * GiB), 'Upload-Concat': 'partial' },
        {
          'Upload-Length': String(200 * 1024 ** 2),
          'Upload-Concat': 'partial',
          'Upload-Metadata': encodeMetadata({ asset_type: 'image' }),
        },
      ];
      for (const headers of over) {
        const reply = await tusSend('POST', server.tusUrl, owner, headers);
        expect(reply.status, reply.text).to.equal(413);
        expect(reply.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');
      }
      // a deferred length too, as the bytes come
      const deferred = await createUpload(server.tusUrl, {
        owner,
        deferLength: true,
        metadata: { asset_type: 'image' },
        headers: { 'Upload-Concat': 'partial' },
      });
      const declare = await patchUpload(deferred.url, 0, Buffer.alloc(0), {
        owner,
        headers: { 'Upload-Length': String(101 * 1024 ** 2) },
      });
      expect(declare.status, declare.body).to.equal(413);
      expect(declare.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');
      expect((await snapshotUpload(server, deferred.id)).uploadLength).to.equal(null);
      expect((await sessionsOf(server, owner)).length).to.equal(1);
    });

    it('refuses a final upload that lists one part more than once, and creates nothing', async () => {
      const owner = uniqueOwner('amplify');
      const part = await createUpload(server.tusUrl, { owner, length: 1000, headers: { 'Upload-Concat': 'partial' } });
      expect((await patchUpload(part.url, 0, randomBytes(1000), { owner })).status).to.equal(204);
      const before = await snapshotUpload(server, part.id);
      const path = new URL(part.url).pathname;
      for (const list of [Array.from({ length: 200 }, () => path), [path, path], [path, part.url]]) {
        const reply = await tusRequest('POST', server.tusUrl, {
          owner,
          headers: { 'Upload-Concat': `final;${list.join(' ')}` },
        });
        expect(reply.status, reply.body).to.equal(400);
        expect(reply.headers.get('x-error-type'), 'the error type').to.equal('validation_error');
        expect(reply.body).to.match(/more than once/);
      }
      expect(await snapshotUpload(server, part.id)).to.deep.equal(before);
      expect((await sessionsOf(server, owner)).map((s) => s.id)).to.deep.equal([part.id]);
    });
  });

  describe('with MAX_ACTIVE_SESSIONS=10 and UPLOADS_PER_HOUR=12', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ MAX_ACTIVE_SESSIONS: '10', UPLOADS_PER_HOUR: '12' });
    });
    after(async () => {
      await server.stop();
    });

    it('creates exactly 10 of 30 parallel creations (tus, REST, partial), the rest 429', async () => {
      const owner = uniqueOwner('parallel');
      const api = new StorageApi(server.url, owner);
      const attempts = Array.from({ length: 30 }, (_, i) => {
        if (i % 3 === 0) return api.initiateRaw({ filename: 'x.bin', file_size: 10, asset_type: 'other' });
        const headers: Record<string, string> = { 'Upload-Length': '10' };
        if (i % 3 === 1) headers['Upload-Concat'] = 'partial';
        return tusSend('POST', server.tusUrl, owner, headers);
      });
      const statuses = (await Promise.all(attempts)).map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201).length, statuses.join(',')).to.equal(10);
      expect(statuses.filter((s) => s === 429).length).to.equal(20);
      expect((await sessionsOf(server, owner)).length).to.equal(10);
    });

    it('counts partial uploads towards the hourly rate as well', async () => {
      const owner = uniqueOwner('partial-rate');
      for (let i = 0; i < 12; i++) {
        const made = await createUpload(server.tusUrl, { owner, length: 0, headers: { 'Upload-Concat': 'partial' } });
        // finished parts (empty) stay active until joined: cancel them to stay under the cap
        expect((await tusRequest('DELETE', made.url, { owner })).status).to.equal(204);
      }
      const reply = await tusSend('POST', server.tusUrl, owner, { 'Upload-Length': '1', 'Upload-Concat': 'partial' });
      expect(reply.status, reply.text).to.equal(429);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('rate_limited');
      expect(reply.text).to.match(/per hour/);
      expect((await sessionsOf(server, owner)).length).to.equal(12);
    });
  });

  describe('with MAX_CONCURRENT_WRITES=2', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ MAX_CONCURRENT_WRITES: '2' });
    });
    after(async () => {
      await server.stop();
    });

    it('refuses a third data request of one user while two are in flight, and stores none of its bytes', async () => {
      const owner = uniqueOwner('writes');
      const uploads = await Promise.all([0, 1, 2].map(() => createUpload(server.tusUrl, { owner, length: 200_000 })));
      const [a, b, c] = uploads.map((u) => u);
      if (!a || !b || !c) throw new Error('three uploads');
      const open = [new OpenPatch(a.url, 0, 200_000, owner), new OpenPatch(b.url, 0, 200_000, owner)];
      for (const patch of open) await patch.send(randomBytes(1000));
      await waitFor(async () => server.service.writes.writesInProgress >= 2, { what: 'both bodies to be written' });
      const third = await patchUpload(c.url, 0, randomBytes(1000), { owner });
      expect(third.status, third.body).to.equal(429);
      expect(third.headers.get('x-error-type'), 'the error type').to.equal('rate_limited');
      expect(third.headers.get('retry-after')).to.equal('1');
      expect((await snapshotUpload(server, c.id)).offset).to.equal(0);
      // another user is not held back by this one
      const other = uniqueOwner('writes-other');
      const theirs = await createUpload(server.tusUrl, { owner: other, length: 10 });
      expect((await patchUpload(theirs.url, 0, randomBytes(10), { owner: other })).status).to.equal(204);
      for (const patch of open) patch.destroy();
      // once they are gone, the slots come back
      await waitFor(async () => (await patchUpload(c.url, 0, randomBytes(1000), { owner })).status === 204, {
        what: 'a slot to come back',
      });
    });
  });
});
