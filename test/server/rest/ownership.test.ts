// Ownership on every route of both APIs: another user's token gets 403 forbidden on the session
// routes, the tus HEAD/PATCH/DELETE/GET of the upload, and the asset routes, and changes nothing.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { sha256 } from '../../helpers/files.js';
import {
  type AssetView,
  bearer,
  expectError,
  fetchBytes,
  type InitiateReply,
  type Reply,
  uniqueOwner,
} from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusPatch, tusSend } from '../../helpers/tus-send.js';

describe('another user is refused with 403 on every route', () => {
  let server: TestServer;
  let alice: StorageApi;
  let mallory: StorageApi;
  let session: InitiateReply;
  let finished: InitiateReply;
  let asset: AssetView;
  const data = randomBytes(10_000);

  before(async () => {
    server = await startTestServer();
    alice = new StorageApi(server.url, uniqueOwner('alice'));
    mallory = alice.as(uniqueOwner('mallory'));
    session = await alice.initiate({ filename: 'mine.bin', file_size: data.length });
    finished = await alice.initiate({ filename: 'done.bin', file_size: data.length });
    await alice.chunk(finished.session_id, 1, data);
    asset = await alice.complete(finished.session_id);
  });
  after(async () => {
    await server.stop();
  });

  function forbidden(reply: Reply): void {
    const message = expectError(reply, 403, 'forbidden');
    expect(message).to.match(/another user/);
  }

  /** tus answers in plain text: the status and the reason. */
  function tusForbidden(reply: Reply): void {
    expect(reply.status, reply.text).to.equal(403);
    expect(reply.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
    expect(reply.text).to.match(/another user/);
  }

  it('GET /storage/chunked-upload/{id}', async () => {
    forbidden(await mallory.statusRaw(session.session_id));
  });

  it('POST /storage/chunked-upload/{id}/chunk', async () => {
    forbidden(await mallory.chunkRaw(session.session_id, 1, data));
    expect((await alice.status(session.session_id)).uploaded_chunks).to.deep.equal([]);
  });

  for (const action of ['complete', 'pause', 'resume', 'cancel'] as const) {
    it(`POST /storage/chunked-upload/{id}/${action}`, async () => {
      forbidden(await mallory.actionRaw(session.session_id, action));
      expect((await alice.status(session.session_id)).status).to.equal('initiated');
    });
  }

  it("GET /storage/chunked-upload lists none of another user's sessions", async () => {
    const list = await mallory.list();
    expect(list.total).to.equal(0);
    expect(list.sessions).to.deep.equal([]);
  });

  it('tus HEAD, PATCH and DELETE of the upload', async () => {
    const owner = mallory.owner ?? '';
    // HEAD has no body: the status says it
    const refused = await tusSend('HEAD', session.upload_url, owner);
    expect(refused.status).to.equal(403);
    expect(refused.headers.get('x-error-type')).to.equal('forbidden');
    tusForbidden(await tusPatch(session.upload_url, owner, 0, data));
    tusForbidden(await tusSend('DELETE', session.upload_url, owner));
    const head = await tusSend('HEAD', session.upload_url, alice.owner);
    expect(head.status).to.equal(200);
    expect(head.headers.get('upload-offset')).to.equal('0');
    expect((await alice.status(session.session_id)).status).to.equal('initiated');
  });

  it('tus HEAD of an unknown upload is 404, not 403', async () => {
    const reply = await tusSend('HEAD', `${server.tusUrl}/0123456789abcdef0123456789abcdef`, mallory.owner);
    expect(reply.status).to.equal(404);
    expect(reply.headers.get('x-error-type'), 'the error type').to.equal('not_found');
  });

  it('GET {TUS_PATH}/{id} of a finished upload', async () => {
    const reply = await fetchBytes(finished.upload_url, bearer(mallory.owner ?? ''));
    expect(reply.status).to.equal(403);
    expect(reply.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
    expect(reply.bytes.toString()).to.match(/another user/);
    expect(reply.bytes.includes(data)).to.equal(false);
  });

  it('GET /storage/assets/{id}', async () => {
    forbidden(await mallory.assetRaw(asset.asset_id));
  });

  it('GET /storage/assets/{id}/download, with and without Range', async () => {
    const variants: Record<string, string>[] = [{}, { Range: 'bytes=0-9' }];
    for (const headers of variants) {
      const download = await mallory.download(asset.asset_id, headers);
      forbidden({ status: download.status, headers: download.headers, text: download.bytes.toString() });
    }
  });

  it('DELETE /storage/assets/{id}', async () => {
    forbidden(await mallory.deleteAssetRaw(asset.asset_id));
    const mine = await alice.download(asset.asset_id);
    expect(mine.status).to.equal(200);
    expect(sha256(mine.bytes)).to.equal(sha256(data));
  });
});
