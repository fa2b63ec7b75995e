// A stranger against an upload while its owner's PATCH is running. The owner's HEAD is answered
// from the running PATCH's own copy of the row and the stranger's PATCH is refused from what the
// server remembers of the upload, both without a database read: neither shortcut may let the
// stranger see or touch anything, and the stranger's PATCH must never reach the upload's lock (it
// would ask the owner's PATCH to let go, cutting it short after the drain time).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { sha256 } from '../helpers/files.js';
import { uniqueOwner } from '../helpers/rest.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createUpload, headOffset, OpenPatch, patchUpload, tusRequest } from '../helpers/tus-http.js';
import { dataFileOf, snapshotUpload } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;
const SIZE = 2 * C + 4321;

describe('security: a stranger while the owner uploads', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.stop();
  });

  it("sees nothing, changes nothing and does not cut the owner's running PATCH short", async function () {
    this.timeout(60_000);
    const alice = uniqueOwner('alice');
    const bob = uniqueOwner('bob');
    const source = randomBytes(SIZE);
    const { url, id } = await createUpload(server.tusUrl, { owner: alice, length: SIZE });
    const patch = new OpenPatch(url, 0, SIZE, alice);
    let answered = false;
    const answer = patch.response.then((res) => {
      answered = true;
      return res;
    });
    await patch.send(source.subarray(0, C + 64 * 1024));

    // the first chunk is committed while the PATCH runs; the owner's HEAD reports exactly that,
    // and never more than the file holds
    await waitFor(async () => (await headOffset(url, alice)) === C, { what: 'the first chunk to be committed' });
    const onDisk = await readFile(dataFileOf(server.dataDir, id));
    expect(sha256(onDisk.subarray(0, C)), 'the committed chunk is on disk').to.equal(sha256(source.subarray(0, C)));

    // the stranger, while the PATCH holds the upload
    const before = await snapshotUpload(server, id);
    const head = await tusRequest('HEAD', url, { owner: bob });
    expect(head.status, 'HEAD by a stranger').to.equal(403);
    expect(head.headers.get('upload-offset'), 'no offset leaks').to.equal(null);
    expect(head.headers.get('upload-length'), 'no length leaks').to.equal(null);
    const stranger = await patchUpload(url, C, randomBytes(1000), { owner: bob });
    expect(stranger.status, 'PATCH by a stranger').to.equal(403);
    expect(stranger.body, 'the answer names nothing of hers').not.to.contain(String(C));
    const wrongOffset = await patchUpload(url, 0, randomBytes(1000), { owner: bob });
    expect(wrongOffset.status, 'PATCH by a stranger at another offset').to.equal(403);
    const after = await snapshotUpload(server, id);
    expect(after.offset, 'her offset').to.equal(before.offset);
    expect(after.chunks, 'her chunks').to.deep.equal(before.chunks);
    expect(answered, 'her PATCH is still running').to.equal(false);

    // she goes on for longer than a PATCH asked to let go may (3 s): it must not have been asked
    for (let at = C + 64 * 1024; at < SIZE; at += 256 * 1024) {
      await patch.send(source.subarray(at, Math.min(SIZE, at + 256 * 1024)));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const res = await answer;
    expect(res.statusCode, 'her PATCH').to.equal(204);
    expect(res.headers['upload-offset'], 'her PATCH took every byte').to.equal(String(SIZE));
    expect(res.headers.connection, 'her PATCH was not cut short').not.to.equal('close');
    const assetId = res.headers['upload-asset-id'];
    const asset = await server.assets.find(String(assetId));
    expect(asset?.sha256, 'her asset is her bytes').to.equal(sha256(source));
    expect(asset?.ownerId, 'and hers').to.equal(alice);
  });
});
