// Two writers on one upload (finding 4): a tus PATCH and REST chunks sent at once to one session,
// on one instance and (with DATABASE_URL) on two sharing a database and a data directory. The
// upload lock serialises them, so every stored chunk is wholly one writer's bytes, each recorded
// sha256 is the sha256 of the bytes stored for that chunk, and the asset's sha256 is its file's.
// Also: a tus PATCH that runs across a chunk REST stored before may not overwrite it.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import type { UploadSession } from '../../db/schema.js';
import { StorageLayout } from '../../store/storage/layout.js';
import { removeDir, sha256, tempDir } from '../helpers/files.js';
import { shuffled } from '../helpers/pool.js';
import { chunkOf, uniqueOwner } from '../helpers/rest.js';
import { startTestServerAt, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { headOffset, OpenPatch, patchUpload } from '../helpers/tus-http.js';
import { dataFileOf } from '../helpers/uploads.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;
const SIZE = 4 * C + 4321;
const ENV = { CHUNK_SIZE: '5MiB', LOCK_TIMEOUT: '20s' };

/** The source chunk n of `data` is wholly taken from; fails on a chunk that mixes them. */
function authorOf(data: Buffer, n: number, sources: Record<string, Buffer>): string {
  const region = chunkOf(data, n, C);
  const author = Object.entries(sources).find(([, source]) => chunkOf(source, n, C).equals(region))?.[0];
  expect(author, `chunk ${n} is wholly one writer's bytes`).to.be.a('string');
  return author ?? '';
}

/** Every recorded chunk digest is the sha256 of the bytes stored for that chunk. */
function expectDigestsDescribe(session: UploadSession, data: Buffer): void {
  for (const [n, digest] of Object.entries(session.chunks)) {
    expect(digest, `recorded sha256 of chunk ${n}`).to.equal(sha256(chunkOf(data, Number(n), C)));
  }
}

/** A tus PATCH of all of `bytes` from 0, sent slowly so the chunks arrive while it runs. */
async function slowPatch(url: string, owner: string, bytes: Buffer): Promise<number | undefined> {
  const patch = new OpenPatch(url, 0, bytes.length, owner);
  let answered = false;
  const answer = patch.response.then(
    (res) => {
      answered = true;
      return res.statusCode;
    },
    () => undefined,
  );
  // about 6 s in all: longer than the 3 s a PATCH asked to let go may go on
  for (let at = 0; at < bytes.length && !answered; at += 256 * 1024) {
    await patch.send(bytes.subarray(at, at + 256 * 1024)).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 70));
  }
  const status = await answer;
  patch.destroy();
  return status;
}

async function race(servers: TestServer[]): Promise<void> {
  const first = servers[0];
  const second = servers[1] ?? first;
  if (!first || !second) throw new Error('no server');
  const owner = uniqueOwner('writers');
  const tusSide = randomBytes(SIZE);
  const restSide = randomBytes(SIZE);
  const api = new StorageApi(first.url, owner);
  const other = new StorageApi(second.url, owner);
  const { session_id: id, upload_url } = await api.initiate({ filename: 'raced.bin', file_size: SIZE, chunk_size: C });
  const url = new URL(new URL(upload_url).pathname, second.tusUrl).toString();

  const chunks = (async () => {
    for (const n of shuffled([1, 2, 3, 4, 5])) {
      await other.chunkRaw(id, n, chunkOf(restSide, n, C));
    }
  })();
  await Promise.all([slowPatch(url, owner, tusSide), chunks]);

  // whatever the interleaving, the stored chunks are each one writer's and described by their digest
  const session = await first.sessions.find(id);
  if (!session) throw new Error('session gone');
  expect(session.status, 'the REST chunks got in before the PATCH finished').to.equal('uploading');
  const stored = await readFile(dataFileOf(first.dataDir, id));
  const sources = { tus: tusSide, rest: restSide };
  expectDigestsDescribe(session, stored);
  for (const n of Object.keys(session.chunks)) authorOf(stored, Number(n), sources);

  // finish it: each missing chunk from the writer whose bytes already lie in its region
  const offset = await headOffset(url, owner);
  for (let n = 1; n <= 5; n++) {
    if (String(n) in session.chunks) continue;
    const inside = offset > (n - 1) * C && offset < n * C;
    const reply = await api.chunkRaw(id, n, chunkOf(inside ? tusSide : restSide, n, C));
    expect(reply.status, reply.text).to.equal(200);
  }
  const asset = await api.complete(id);
  const layout = new StorageLayout(first.dataDir);
  const bytes = await readFile(layout.resolve((await first.assets.find(asset.asset_id))?.storagePath ?? ''));
  expect(asset.sha256, "the asset's sha256 is its file's").to.equal(sha256(bytes));
  const done = await first.sessions.find(id);
  if (!done) throw new Error('session gone');
  expectDigestsDescribe(done, bytes);
  for (let n = 1; n <= 5; n++) authorOf(bytes, n, sources);
}

describe('security: two writers on one upload', () => {
  let dataDir: string;
  const servers: TestServer[] = [];

  beforeEach(async () => {
    dataDir = await tempDir('upload-test-writers-');
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop().catch(() => {});
    await removeDir(dataDir);
  });

  it('serialises a tus PATCH and REST chunks on one instance', async function () {
    this.timeout(120_000);
    servers.push(await startTestServerAt(dataDir, ENV));
    await race(servers);
  });

  it('serialises them across two instances on one PostgreSQL and data directory', async function () {
    const url = process.env.DATABASE_URL;
    if (!url) {
      console.log('      skipped: needs DATABASE_URL (the lock across instances lives in PostgreSQL)');
      this.skip();
    }
    this.timeout(120_000);
    servers.push(await startTestServerAt(dataDir, { ...ENV, DATABASE_URL: url }));
    servers.push(await startTestServerAt(dataDir, { ...ENV, DATABASE_URL: url }));
    await race(servers);
  });

  it('refuses a tus PATCH whose bytes differ from a chunk REST stored before, and keeps that chunk', async () => {
    const server = await startTestServerAt(dataDir, ENV);
    servers.push(server);
    const owner = uniqueOwner('overwrite');
    const api = new StorageApi(server.url, owner);
    const size = 2 * C + 100;
    const mine = randomBytes(size);
    const theirs = randomBytes(size);
    const { session_id: id, upload_url } = await api.initiate({ filename: 'x.bin', file_size: size, chunk_size: C });
    await api.chunk(id, 2, chunkOf(theirs, 2, C));
    const url = new URL(new URL(upload_url).pathname, server.tusUrl).toString();
    const reply = await patchUpload(url, 0, mine, { owner });
    expect(reply.status, reply.body).to.equal(400);
    expect(reply.headers.get('x-error-type'), 'the error type').to.equal('invalid_chunk');
    expect(reply.body).to.match(/chunk 2 differ/);
    const session = await server.sessions.find(id);
    const stored = await readFile(dataFileOf(server.dataDir, id));
    expect(chunkOf(stored, 2, C).equals(chunkOf(theirs, 2, C)), 'chunk 2 untouched').to.equal(true);
    if (!session) throw new Error('session gone');
    expectDigestsDescribe(session, stored);
    expect(session.uploadOffset, 'chunk 1 kept, nothing past it').to.equal(C);
    // the same bytes as stored go through
    const rest = Buffer.concat([chunkOf(theirs, 2, C), mine.subarray(2 * C)]);
    const done = await patchUpload(url, C, rest, { owner });
    expect(done.status, done.body).to.equal(204);
    expect(done.headers.get('upload-asset-id')).to.be.a('string');
  });
});
