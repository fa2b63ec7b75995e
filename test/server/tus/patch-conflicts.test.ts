// PATCH bodies that do not match what they declare, and PATCHes that race for one upload, sent as
// raw bytes where no HTTP client would send them: bytes past Content-Length are not stored (they
// are a malformed next request, answered 400); a Content-Length larger than what arrives keeps only
// what arrived; both Content-Length and Transfer-Encoding, or a malformed Content-Length, get 400
// and store nothing. Two PATCHes at once for the same upload, at the same offset with different
// bytes, in seeded rounds: one advances the offset, the other is refused (409/423) or takes
// nothing, and the stored region is wholly one body's, never a mix; the asset ends byte-identical.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import { readRange, removeDir, sha256, tempDir } from '../../helpers/files.js';
import { readBody } from '../../helpers/integrity.js';
import { Random, testSeed } from '../../helpers/random.js';
import { socketExchange } from '../../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tokenFor, uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadSource } from '../../helpers/tus.js';
import { createUpload, headOffset, OpenPatch, patchUpload } from '../../helpers/tus-http.js';
import { dataFileOf, expectAssetOf, snapshotUpload } from '../../helpers/uploads.js';
import { waitFor } from '../../helpers/wait.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;

/** The request line and headers of a raw tus PATCH. */
function patchHead(url: string, owner: string, offset: number, headers: Record<string, string>): Buffer {
  const { host, pathname } = new URL(url);
  const lines = [
    `PATCH ${pathname} HTTP/1.1`,
    `Host: ${host}`,
    'Tus-Resumable: 1.0.0',
    'Content-Type: application/offset+octet-stream',
    `Upload-Offset: ${offset}`,
    `Authorization: Bearer ${tokenFor(owner)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

interface Ending {
  status: number | 'closed';
  offset: number | undefined;
  body: string;
}

function endingOf(patch: OpenPatch): Promise<Ending> {
  return patch.response.then(
    async (res: IncomingMessage) => {
      const header = res.headers['upload-offset'];
      return {
        status: res.statusCode ?? 0,
        offset: typeof header === 'string' ? Number(header) : undefined,
        body: await readBody(res).catch(() => ''),
      };
    },
    () => ({ status: 'closed' as const, offset: undefined, body: '' }),
  );
}

describe('PATCH bodies that lie, and PATCHes that race', () => {
  let server: TestServer;
  let dir: string;
  let sources = 0;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  /** The bytes as a file, for the checks that compare an asset with its source file. */
  async function writeSource(data: Buffer): Promise<string> {
    const file = path.join(dir, `source-${++sources}.bin`);
    await writeFile(file, data);
    return file;
  }

  /** An upload of `source` with its first `written` bytes stored. */
  async function partial(source: Buffer, written: number) {
    const owner = uniqueOwner('lie');
    const { url, id } = await createUpload(server.tusUrl, { owner, length: source.length });
    if (written > 0) {
      const first = await patchUpload(url, 0, source.subarray(0, written), { owner });
      expect(first.status, first.body).to.equal(204);
    }
    return { owner, url, id };
  }

  /** Bytes [from, to) of an upload: from its data file, or from its asset once finished. */
  async function stored(id: string, from: number, to: number): Promise<Buffer> {
    if (to <= from) return Buffer.alloc(0);
    const session = await server.sessions.find(id);
    const asset = session?.status === 'completed' ? await server.assets.findBySession(id) : undefined;
    const file = asset ? path.resolve(server.dataDir, asset.storagePath) : dataFileOf(server.dataDir, id);
    return readRange(file, from, to);
  }

  it('stores none of the bytes sent past Content-Length, which are answered 400 as a malformed request', async () => {
    const source = randomBytes(C + MiB);
    const { owner, url, id } = await partial(source, 1000);
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
    expect((await stored(id, 0, offset)).equals(source.subarray(0, offset))).to.equal(true);

    const result = await tusUploadSource(server.tusUrl, source, { owner, uploadUrl: url });
    await expectAssetOf(server, result.assetId, await writeSource(source));
  });

  it('keeps only what arrived when Content-Length promises more than is sent', async () => {
    const source = randomBytes(2 * C + 4321);
    const { owner, url, id } = await partial(source, 0);
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
    expect((await stored(id, 0, offset)).equals(source.subarray(0, offset))).to.equal(true);
    const result = await tusUploadSource(server.tusUrl, source, { owner, uploadUrl: url });
    await expectAssetOf(server, result.assetId, await writeSource(source));
  });

  it('leaves a deferred length undeclared when the PATCH declaring it is refused (413, 460), so a retry succeeds', async () => {
    const owner = uniqueOwner('deferred');
    const source = randomBytes(150);
    const { url, id } = await createUpload(server.tusUrl, { owner, deferLength: true });
    expect((await patchUpload(url, 0, source.subarray(0, 100), { owner })).status).to.equal(204);
    // the row and the acknowledged bytes (bytes past the offset are not the upload's yet)
    const recorded = async () => {
      const { status, offset, uploadLength, chunks } = await snapshotUpload(server, id);
      return { status, offset, uploadLength, chunks, bytes: sha256(await stored(id, 0, offset)) };
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
    await expectAssetOf(server, right.headers.get('upload-asset-id'), await writeSource(source));
  });

  it('answers 400 to Content-Length with Transfer-Encoding, and to malformed Content-Length, storing nothing', async () => {
    const source = randomBytes(100_000);
    const { owner, url, id } = await partial(source, 1000);
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

  it('lets one of two PATCHes racing at the same offset write, never a mix of both (seeded rounds)', async function () {
    this.timeout(60_000);
    const random = new Random(testSeed(0x5eed_0008));
    const outcomes: string[] = [];
    for (let round = 0; round < 8; round++) {
      const owner = uniqueOwner('race');
      const size = 2 * C + random.int(0, MiB);
      const real = random.bytes(size);
      const decoy = random.bytes(size);
      const start = random.pick([0, 1000, C - 7, C + 12_345]);
      const { url, id } = await createUpload(server.tusUrl, { owner, length: size });
      if (start > 0) expect((await patchUpload(url, 0, real.subarray(0, start), { owner })).status).to.equal(204);

      // the first sends a head start, then both send their bodies piece by piece, interleaved
      const piece = 64 * 1024;
      const headStart = random.int(0, 8) * piece;
      const first = new OpenPatch(url, start, size - start, owner);
      const second = new OpenPatch(url, start, size - start, owner);
      const firstEnd = endingOf(first);
      const secondEnd = endingOf(second);
      // a request answered (or cut) stops sending
      const ended: boolean[] = [false, false];
      [first, second].forEach((patch, index) => {
        const stop = () => {
          ended[index] = true;
        };
        patch.response.then(stop, stop);
      });
      const sendFrom = async (patch: OpenPatch, source: Buffer, index: number, upTo: number) => {
        while (!ended[index] && patch.bytesSent < upTo) {
          const at = start + patch.bytesSent;
          try {
            await patch.send(source.subarray(at, Math.min(start + upTo, at + piece)));
          } catch {
            return;
          }
        }
      };
      await sendFrom(first, real, 0, Math.min(headStart, size - start));
      await Promise.all([sendFrom(first, real, 0, size - start), sendFrom(second, decoy, 1, size - start)]);
      const [a, b] = await Promise.all([firstEnd, secondEnd]);
      first.destroy();
      second.destroy();
      outcomes.push(`${a.status}/${b.status}@${start}+${headStart}`);

      // committed once both requests are over; the region after `start` is one body's bytes
      await server.service.writes.idle(10_000);
      const offset = await headOffset(url, owner);
      const advanced = [a, b].filter((e) => e.status === 204 && (e.offset ?? start) > start);
      expect(advanced.length, `round ${round}: ${JSON.stringify([a, b])}`).to.be.at.most(1);
      for (const e of [a, b]) {
        if (advanced.includes(e)) continue;
        const refused = e.status === 409 || e.status === 423 || e.status === 'closed';
        const tookNothing = e.status === 204 && e.offset === start;
        expect(refused || tookNothing, `round ${round}: ${JSON.stringify(e)}`).to.equal(true);
      }
      const region = await stored(id, start, offset);
      const fromReal = region.equals(real.subarray(start, offset));
      const fromDecoy = region.equals(decoy.subarray(start, offset));
      expect(fromReal || fromDecoy, `round ${round}: bytes ${start}-${offset} are one body's`).to.equal(true);
      expect(await stored(id, 0, start)).to.deep.equal(real.subarray(0, start));

      // finishing from what was stored gives an asset equal to that mix of sources, byte for byte
      const expected = Buffer.concat([real.subarray(0, start), (fromReal ? real : decoy).subarray(start)]);
      const assetId =
        offset === size
          ? ((await server.sessions.find(id))?.assetId ?? null)
          : (await tusUploadSource(server.tusUrl, expected, { owner, uploadUrl: url, retryDelays: [0, 100, 300] }))
              .assetId;
      await expectAssetOf(server, assetId, await writeSource(expected));
    }
    console.log(`      outcomes (first/second): ${outcomes.join(' ')}`);
  });

  it('takes the upload away from a PATCH that holds it without sending, and keeps what it sent', async function () {
    this.timeout(30_000);
    const owner = uniqueOwner('holder');
    const size = 2 * C;
    const real = randomBytes(size);
    const decoy = randomBytes(size);
    const { url, id } = await createUpload(server.tusUrl, { owner, length: size });
    const holder = new OpenPatch(url, 0, size, owner);
    await holder.send(real.subarray(0, C + MiB));
    await waitFor(async () => ((await server.sessions.find(id))?.uploadOffset ?? 0) >= C, {
      what: 'the holder to record its first chunk',
    });
    // the holder goes quiet with the lock; a second PATCH asks for it
    const second = await patchUpload(url, C + MiB, decoy.subarray(C + MiB), { owner });
    const held = await endingOf(holder);
    holder.destroy();
    expect(held.status, JSON.stringify(held)).to.be.oneOf([204, 'closed']);
    // the holder commits what it had before letting go, so the second finds the offset it claimed
    expect(second.status, second.body).to.be.oneOf([204, 409]);
    const offset = await headOffset(url, owner);
    const written = await stored(id, 0, offset);
    const expected = Buffer.concat([real.subarray(0, C + MiB), decoy.subarray(C + MiB, offset)]);
    expect(written.equals(expected.subarray(0, offset)), 'the holder’s bytes, then the second’s').to.equal(true);
  });
});
