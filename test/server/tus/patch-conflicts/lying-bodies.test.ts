// PATCH bodies that do not match what they declare, sent as raw bytes where no HTTP client would
// send them: bytes past Content-Length are not stored (they are a malformed next request, answered
// 400); a Content-Length larger than what arrives keeps only what arrived; a refused PATCH declaring
// a deferred length leaves it undeclared; both Content-Length and Transfer-Encoding, or a malformed
// Content-Length, get 400 and store nothing.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { removeDir, sha256, tempDir } from '../../../helpers/files.js';
import { socketExchange } from '../../../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { tusUploadSource } from '../../../helpers/tus.js';
import { createUpload, headOffset, patchUpload } from '../../../helpers/tus-http.js';
import { expectAssetOf, snapshotUpload } from '../../../helpers/uploads.js';
import { C, MiB, partial, patchHead, stored, writeSource } from './setup.js';

describe('PATCH bodies that lie, and PATCHes that race', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  it('stores none of the bytes sent past Content-Length, which are answered 400 as a malformed request', async () => {
    const source = randomBytes(C + MiB);
    const { owner, url, id } = await partial(server, source, 1000);
    const declared = 300_000;
    const extra = randomBytes(70_000);
    const exchange = await socketExchange(url, [
      patchHead(url, owner, 1000, { 'Content-Length': String(declared) }),
      source.subarray(1000, 1000 + declared),
      extra,
    ]);
    expect(exchange.statuses, exchange.response.slice(0, 300)).to.include(400);
    expect(exchange.statuses.filter((s) => s !== 204 && s !== 400)).to.deep.equal([]);
    // the connection is closed at the garbage; what the PATCH received up to then is kept
    await server.service.writes.idle(10_000);
    const offset = await headOffset(url, owner);
    expect(offset).to.be.within(1000, 1000 + declared);
    const snapshot = await snapshotUpload(server, id);
    expect(snapshot.dataSize ?? 0, 'nothing written past the declared body').to.be.at.most(1000 + declared);
    expect((await stored(server, id, 0, offset)).equals(source.subarray(0, offset))).to.equal(true);

    const result = await tusUploadSource(server.tusUrl, source, { owner, uploadUrl: url });
    await expectAssetOf(server, result.assetId, await writeSource(dir, source));
  });

  it('keeps only what arrived when Content-Length promises more than is sent', async () => {
    const source = randomBytes(2 * C + 4321);
    const { owner, url, id } = await partial(server, source, 0);
    const sent = C + 250_000;
    const exchange = await socketExchange(
      url,
      [patchHead(url, owner, 0, { 'Content-Length': String(source.length) }), source.subarray(0, sent)],
      { endAfterWrite: true },
    );
    expect(
      exchange.statuses.filter((s) => s >= 500),
      exchange.response.slice(0, 300),
    ).to.deep.equal([]);
    // the body ends early: what had been read is committed, never more than was sent
    await server.service.writes.idle(10_000);
    const offset = await headOffset(url, owner);
    console.log(`      ${sent} bytes sent of ${source.length} declared; ${offset} kept`);
    expect(offset).to.be.at.most(sent);
    expect((await stored(server, id, 0, offset)).equals(source.subarray(0, offset))).to.equal(true);
    const result = await tusUploadSource(server.tusUrl, source, { owner, uploadUrl: url });
    await expectAssetOf(server, result.assetId, await writeSource(dir, source));
  });

  it('leaves a deferred length undeclared when the PATCH declaring it is refused (413, 460), so a retry succeeds', async () => {
    const owner = uniqueOwner('deferred');
    const source = randomBytes(150);
    const { url, id } = await createUpload(server.tusUrl, { owner, deferLength: true });
    expect((await patchUpload(url, 0, source.subarray(0, 100), { owner })).status).to.equal(204);
    // the row and the acknowledged bytes (bytes past the offset are not the upload's yet)
    const recorded = async () => {
      const { status, offset, uploadLength, chunks } = await snapshotUpload(server, id);
      return { status, offset, uploadLength, chunks, bytes: sha256(await stored(server, id, 0, offset)) };
    };
    const before = await recorded();
    expect(before.uploadLength).to.equal(null);

    // declares 120 bytes in all but sends 50 more: refused, and the length is not kept
    const tooLong = await patchUpload(url, 100, source.subarray(100, 150), {
      owner,
      headers: { 'Upload-Length': '120' },
    });
    expect(tooLong.status, tooLong.body).to.equal(413);
    expect(tooLong.headers.get('x-error-type'), 'the error type').to.equal('payload_too_large');
    expect(await recorded()).to.deep.equal(before);

    // declares the right length with a wrong checksum: refused, nothing kept, length not kept
    const wrong = await patchUpload(url, 100, source.subarray(100, 150), {
      owner,
      headers: { 'Upload-Length': '150', 'Upload-Checksum': `sha256 ${Buffer.alloc(32).toString('base64')}` },
    });
    expect(wrong.status, wrong.body).to.equal(460);
    expect(wrong.headers.get('x-error-type'), 'the error type').to.equal('checksum_mismatch');
    expect(await recorded()).to.deep.equal(before);

    // the same PATCH with the right checksum completes the upload
    const digest = createHash('sha256').update(source.subarray(100, 150)).digest('base64');
    const right = await patchUpload(url, 100, source.subarray(100, 150), {
      owner,
      headers: { 'Upload-Length': '150', 'Upload-Checksum': `sha256 ${digest}` },
    });
    expect(right.status, right.body).to.equal(204);
    await expectAssetOf(server, right.headers.get('upload-asset-id'), await writeSource(dir, source));
  });

  it('answers 400 to Content-Length with Transfer-Encoding, and to malformed Content-Length, storing nothing', async () => {
    const source = randomBytes(100_000);
    const { owner, url, id } = await partial(server, source, 1000);
    const before = await snapshotUpload(server, id);
    const body = source.subarray(1000, 51_000);
    const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    const cases: [string, Record<string, string>, Buffer][] = [
      [
        'Content-Length and chunked',
        { 'Content-Length': String(body.length), 'Transfer-Encoding': 'chunked' },
        chunked,
      ],
      ['negative', { 'Content-Length': '-5' }, body],
      ['not a number', { 'Content-Length': '5a' }, body],
      ['two different', { 'Content-Length': `${body.length}\r\nContent-Length: 10` }, body],
      ['chunked with a bad size', { 'Transfer-Encoding': 'chunked' }, Buffer.from('zz\r\nabc\r\n0\r\n\r\n')],
    ];
    for (const [what, headers, payload] of cases) {
      const exchange = await socketExchange(url, [patchHead(url, owner, 1000, headers), payload]);
      // Node's HTTP parser refuses these before any of our code runs: its 400 carries no error type
      expect(exchange.statuses[0], `${what}: ${exchange.response.slice(0, 200)}`).to.equal(400);
      expect(await snapshotUpload(server, id), what).to.deep.equal(before);
    }
  });
});
