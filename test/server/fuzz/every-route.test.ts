// A seeded fuzz of every route: 3000 requests with random and boundary tus headers (Upload-Length,
// Upload-Offset, Upload-Metadata, Upload-Concat, Upload-Checksum, Content-Type, method
// overrides), JSON bodies, chunk numbers, list parameters, Range and conditional headers, and
// tokens (valid, forged, expired, odd subjects), aimed at the fuzzers' own uploads and assets, at a
// victim's, and at made-up ids. Checked: no 5xx, no unhandled rejection, the server still answers
// /healthz, nothing written outside DATA_DIR, no upload changed by a request that was refused,
// the victim's uploads and asset untouched, and a normal upload works afterwards. Replay a
// failure with TEST_SEED=<seed printed on failure>.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { randomFile, readRange, removeDir, sha256, tempDir } from '../../helpers/files.js';
import { Random, testSeed } from '../../helpers/random.js';
import { uniqueOwner } from '../../helpers/rest.js';
import { scaled } from '../../helpers/scale.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tusUploadFile } from '../../helpers/tus.js';
import { tusMetadata, tusPatch, tusSend } from '../../helpers/tus-send.js';
import { expectAssetOf, listFiles } from '../../helpers/uploads.js';
import { fuzzGenerators } from './generators.js';
import { C, type FuzzRequest, MiB, type SessionState, send } from './requests.js';
import { fuzzValues } from './values.js';

const REQUESTS = scaled(3000);

describe('fuzzing every route', () => {
  let parent: string;
  let dataDir: string;
  let server: TestServer;
  let dir: string;

  before(async () => {
    parent = await tempDir('upload-test-fuzz-');
    dataDir = path.join(parent, 'data');
    await mkdir(dataDir);
    dir = await tempDir();
    server = await startTestServerAt(dataDir, { CHUNK_SIZE: '5MiB', SINGLE_UPLOAD_MAX: '1MiB' });
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
    await removeDir(dir);
  });

  async function stateOf(id: string): Promise<SessionState | undefined> {
    const s = await server.sessions.find(id);
    if (!s) return undefined;
    const file = path.join(dataDir, 'uploads', id);
    const prefix = await readRange(file, 0, s.uploadOffset).then(
      (bytes) => createHash('sha256').update(bytes).digest('hex'),
      () => null,
    );
    return {
      status: s.status,
      offset: s.uploadOffset,
      length: s.uploadLength,
      chunks: JSON.stringify(s.chunks),
      assetId: s.assetId,
      metadata: JSON.stringify(s.metadata),
      filename: s.filename,
      prefix: s.status === 'completed' ? null : prefix,
    };
  }

  it(`answers ${REQUESTS} random and boundary requests without a 5xx, changing nothing it refuses`, async function () {
    this.timeout(120_000);
    const seed = testSeed(0xf022_0008);
    const random = new Random(seed);
    const started = performance.now();

    // --- the victim: uploads in every state, whose token the fuzzer never holds ---
    const victim = new StorageApi(server.url, uniqueOwner('victim'));
    const victimOwner = victim.owner ?? '';
    const data = randomBytes(C + 1000);
    const created = await tusSend('POST', server.tusUrl, victimOwner, {
      'Upload-Length': String(data.length),
      'Upload-Metadata': tusMetadata({ filename: 'victim-tus.bin' }),
    });
    const victimTusUrl = new URL(created.headers.get('location') ?? '', server.tusUrl).toString();
    expect((await tusPatch(victimTusUrl, victimOwner, 0, data.subarray(0, 3000))).status).to.equal(204);
    const victimRest = await victim.initiate({ filename: 'victim-rest.bin', file_size: data.length, chunk_size: C });
    await victim.chunk(victimRest.session_id, 2, data.subarray(C));
    const victimPaused = await victim.initiate({ filename: 'victim-paused.bin', file_size: 10 });
    await victim.action(victimPaused.session_id, 'pause');
    const victimDone = await victim.initiate({ filename: 'victim-done.bin', file_size: 100 });
    await victim.chunk(victimDone.session_id, 1, data.subarray(0, 100));
    const victimAsset = await victim.complete(victimDone.session_id);
    const victimIds = [
      victimTusUrl.split('/').pop() ?? '',
      victimRest.session_id,
      victimPaused.session_id,
      victimDone.session_id,
    ];
    const victimBefore = new Map<string, SessionState | undefined>();
    for (const id of victimIds) victimBefore.set(id, await stateOf(id));
    const parentBefore = await readdir(parent);
    const topBefore = (await readdir(dataDir)).sort();

    // --- pools the generators draw from; the fuzzers' own ids are added as they are created ---
    const fuzzers = [uniqueOwner('fuzz-a'), uniqueOwner('fuzz-b')];
    const ownSessions: string[] = [];
    const ownAssets: string[] = [];
    const junkIds = [
      '0'.repeat(32),
      randomBytes(16).toString('hex'),
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e',
      '%00',
      'a%00b',
      '%ff',
      '%',
      'x'.repeat(300),
      '00000000-0000-0000-0000-000000000000',
      `${victimAsset.asset_id.slice(0, -1)}0`,
      "1'%20OR%20'1'='1",
      '-1',
      '.',
    ];
    const pools = { random, data, fuzzers, ownSessions, ownAssets, junkIds, victimIds, victimOwner, victimAsset };
    const values = fuzzValues(pools);
    const { authorization } = values;
    const generators = fuzzGenerators(pools, values);

    // --- the run ---
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let unsendable = 0;
    try {
      for (let i = 0; i < REQUESTS; i++) {
        const request = generators[random.int(0, generators.length - 1)]?.() as FuzzRequest;
        const auth = authorization();
        if (auth !== undefined) request.headers.Authorization = auth;
        const before = request.target ? await stateOf(request.target) : undefined;
        const what = `#${i} ${request.method} ${request.path.slice(0, 120)} ${JSON.stringify(request.headers).slice(0, 300)}`;
        const reply = await send(server.url, request);
        if (reply === 'unsendable') {
          unsendable++;
          continue;
        }
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        if (reply.status >= 500) {
          const sent = request.body?.subarray(0, 300).toString('latin1') ?? '';
          failures.push(
            `${what} ${JSON.stringify(sent)} -> ${reply.status} ${reply.body.slice(0, 200)} (target: ${JSON.stringify(before)})`,
          );
        }
        if (reply.status >= 400 && request.target) {
          const after = await stateOf(request.target);
          if (JSON.stringify(after) !== JSON.stringify(before)) {
            failures.push(
              `${what} -> ${reply.status} ${reply.body.slice(0, 120)} changed ${request.target}: ${JSON.stringify(before)} => ${JSON.stringify(after)}`,
            );
          }
        }
        // remember what the fuzzers made, to aim later requests at it
        if (reply.status === 201 && typeof reply.headers.location === 'string') {
          ownSessions.push(reply.headers.location.split('/').pop() ?? '');
        }
        if (reply.status < 300 && String(reply.headers['content-type']).startsWith('application/json')) {
          const parsed = JSON.parse(reply.body) as { session_id?: string; asset_id?: string };
          if (parsed.session_id && !ownSessions.includes(parsed.session_id)) ownSessions.push(parsed.session_id);
          if (parsed.asset_id && !ownAssets.includes(parsed.asset_id)) ownAssets.push(parsed.asset_id);
        }
        if (typeof reply.headers['upload-asset-id'] === 'string') ownAssets.push(reply.headers['upload-asset-id']);
        if (i % 250 === 0) expect((await fetch(`${server.url}/healthz`)).status, `healthz after #${i}`).to.equal(200);
        if (failures.length >= 10) break;
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    const seconds = (performance.now() - started) / 1000;
    const summary = [...statuses.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([status, n]) => `${status}:${n}`)
      .join(' ');
    console.log(
      `      seed ${seed}: ${REQUESTS} requests in ${seconds.toFixed(1)} s (${unsendable} unsendable); ${summary}`,
    );
    console.log(`      the fuzzers made ${ownSessions.length} uploads and ${ownAssets.length} assets`);
    expect(failures, `seed ${seed}`).to.deep.equal([]);
    expect(unhandled.map(String), 'unhandled rejections').to.deep.equal([]);
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);

    // nothing outside DATA_DIR, nothing new at its top level
    expect(await readdir(parent)).to.deep.equal(parentBefore);
    expect((await readdir(dataDir)).sort()).to.deep.equal(topBefore);
    for (const file of await listFiles(dataDir)) {
      const parts = file.split(path.sep);
      expect(parts[0], file).to.be.oneOf(['uploads', 'assets']);
      expect(parts, file).to.have.length(parts[0] === 'uploads' ? 2 : 4);
    }
    // every data file in uploads/ belongs to an upload that can still receive bytes
    for (const name of await readdir(path.join(dataDir, 'uploads'))) {
      const status = (await server.sessions.find(name))?.status;
      expect(status, `uploads/${name}`).to.be.oneOf(['initiated', 'uploading', 'paused']);
    }
    // the victim's uploads and asset are as they were
    for (const id of victimIds) expect(await stateOf(id), id).to.deep.equal(victimBefore.get(id));
    const download = await victim.download(victimAsset.asset_id);
    expect(sha256(download.bytes)).to.equal(sha256(data.subarray(0, 100)));

    // and a normal upload still works
    const file = await randomFile(dir, 6 * MiB + 17, 'after-fuzz.bin');
    const owner = uniqueOwner('after-fuzz');
    const result = await tusUploadFile(server.tusUrl, file, { owner, chunkSize: 4 * MiB });
    await expectAssetOf(server, result.assetId, file);
  });
});
