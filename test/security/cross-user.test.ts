// Attacks by a logged-in user on another user's uploads and assets, table-driven: every URL shape,
// encoding, method and override that reached alice's data before (query strings carrying her id,
// %-escaped ids, extra segments), and the plain ones. Each row asserts the refusal and that nothing
// of alice's leaks into the answer; afterwards her sessions, offsets, bytes and asset are exactly
// as before.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { StorageLayout } from '../../store/storage/layout.js';
import { sha256 } from '../helpers/files.js';
import { requestRawPath } from '../helpers/raw-http.js';
import { bearer, uniqueOwner } from '../helpers/rest.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { createUpload, patchUpload, TUS_RESUMABLE } from '../helpers/tus-http.js';
import { snapshotUpload, type UploadSnapshot } from '../helpers/uploads.js';

/** The victim's things the attack rows aim at. */
interface Victim {
  /** tus upload in progress, some bytes in */
  P: string;
  /** tus upload completed into asset A */
  D: string;
  A: string;
  /** finished partial upload */
  Q: string;
  /** REST session with chunk 1 stored */
  R: string;
}

interface Attack {
  name: string;
  method: string;
  path: (v: Victim) => string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** The status the refusal must have. */
  status: number;
}

const SECRET_NAME = 'alice-private-report.pdf';
const KiB = 1024;

/** `id` with its first character written as a %-escape, the way the old bypass spelt it. */
const escapedFirst = (id: string) => `%${id.charCodeAt(0).toString(16)}${id.slice(1)}`;
const escapedFirstUpper = (id: string) => `%${id.charCodeAt(0).toString(16).toUpperCase()}${id.slice(1)}`;
const patchHeaders = { 'Upload-Offset': '1000', 'Content-Type': 'application/offset+octet-stream' };

const ATTACKS: Attack[] = [
  // finding 1: the owner check read one id, @tus/server acted on another
  { name: 'HEAD with her id in the query', method: 'HEAD', path: (v) => `/files/zz?x=/${v.P}`, status: 404 },
  {
    name: 'GET with a %-escaped id after an extra segment',
    method: 'GET',
    path: (v) => `/files/x/${escapedFirst(v.D)}`,
    status: 404,
  },
  { name: 'DELETE with her id in the query', method: 'DELETE', path: (v) => `/files/zz?x=/${v.P}`, status: 404 },
  {
    name: 'PATCH with her id in the query',
    method: 'PATCH',
    path: (v) => `/files/zz?x=/${v.P}`,
    headers: patchHeaders,
    body: randomBytes(100),
    status: 404,
  },
  { name: 'HEAD with a %-escaped id', method: 'HEAD', path: (v) => `/files/${escapedFirst(v.P)}`, status: 404 },
  {
    name: 'HEAD with an upper-case %-escape',
    method: 'HEAD',
    path: (v) => `/files/${escapedFirstUpper(v.P)}`,
    status: 404,
  },
  {
    name: 'HEAD with a double-escaped id',
    method: 'HEAD',
    path: (v) => `/files/%25${v.P.charCodeAt(0).toString(16)}${v.P.slice(1)}`,
    status: 404,
  },
  { name: 'HEAD through a dot segment', method: 'HEAD', path: (v) => `/files/../files/${v.P}`, status: 404 },
  {
    name: 'HEAD through an escaped dot segment',
    method: 'HEAD',
    path: (v) => `/files/%2e%2e/files/${v.P}`,
    status: 404,
  },
  { name: 'HEAD through ./', method: 'HEAD', path: (v) => `/files/./${v.P}`, status: 404 },
  { name: 'HEAD with a double slash', method: 'HEAD', path: (v) => `/files//${v.P}`, status: 404 },
  { name: 'HEAD with a trailing slash', method: 'HEAD', path: (v) => `/files/${v.P}/`, status: 404 },
  { name: 'HEAD with a matrix parameter', method: 'HEAD', path: (v) => `/files/${v.P};x=1`, status: 404 },
  { name: 'HEAD with an escaped NUL after the id', method: 'HEAD', path: (v) => `/files/${v.P}%00`, status: 404 },
  { name: 'HEAD with the path in capitals', method: 'HEAD', path: (v) => `/FILES/${v.P}`, status: 404 },
  { name: 'GET under an extra segment', method: 'GET', path: (v) => `/files/x/${v.D}`, status: 404 },
  {
    name: 'DELETE with an override and her id in the query',
    method: 'POST',
    path: (v) => `/files/zz?x=/${v.P}`,
    headers: { 'X-HTTP-Method-Override': 'DELETE' },
    status: 404,
  },
  // the plain URLs
  { name: 'HEAD of her upload', method: 'HEAD', path: (v) => `/files/${v.P}`, status: 403 },
  {
    name: 'PATCH of her upload',
    method: 'PATCH',
    path: (v) => `/files/${v.P}`,
    headers: patchHeaders,
    body: randomBytes(100),
    status: 403,
  },
  { name: 'DELETE of her upload', method: 'DELETE', path: (v) => `/files/${v.P}`, status: 403 },
  { name: 'GET of her finished upload', method: 'GET', path: (v) => `/files/${v.D}`, status: 403 },
  { name: 'GET of her finished upload with a query', method: 'GET', path: (v) => `/files/${v.D}?x=1`, status: 403 },
  {
    name: 'DELETE by override',
    method: 'POST',
    path: (v) => `/files/${v.P}`,
    headers: { 'X-HTTP-Method-Override': 'DELETE' },
    status: 403,
  },
  {
    name: 'PATCH by override',
    method: 'POST',
    path: (v) => `/files/${v.P}`,
    headers: { 'X-HTTP-Method-Override': 'PATCH', ...patchHeaders },
    body: randomBytes(100),
    status: 403,
  },
  {
    name: 'HEAD by override',
    method: 'POST',
    path: (v) => `/files/${v.P}`,
    headers: { 'X-HTTP-Method-Override': 'HEAD' },
    status: 403,
  },
  {
    name: 'a creation at her upload URL',
    method: 'POST',
    path: (v) => `/files/${v.P}`,
    headers: { 'Upload-Length': '10' },
    status: 405,
  },
  {
    name: 'a final upload of her part',
    method: 'POST',
    path: () => '/files',
    headers: { 'Upload-Concat': '' },
    status: 403,
  },
  {
    name: 'a final upload of her part by absolute URL',
    method: 'POST',
    path: () => '/files',
    headers: { 'Upload-Concat': 'abs' },
    status: 403,
  },
  {
    name: 'a final upload of her part by an escaped URL',
    method: 'POST',
    path: () => '/files',
    headers: { 'Upload-Concat': 'escaped' },
    status: 400,
  },
  // the REST API
  { name: 'status of her session', method: 'GET', path: (v) => `/storage/chunked-upload/${v.R}`, status: 403 },
  {
    name: 'status of her session, %-escaped',
    method: 'GET',
    path: (v) => `/storage/chunked-upload/${escapedFirst(v.R)}`,
    status: 403,
  },
  {
    name: 'a chunk into her session',
    method: 'POST',
    path: (v) => `/storage/chunked-upload/${v.R}/chunk?chunk_number=2`,
    body: randomBytes(10 * KiB),
    status: 403,
  },
  {
    name: 'completing her session',
    method: 'POST',
    path: (v) => `/storage/chunked-upload/${v.R}/complete`,
    status: 403,
  },
  { name: 'pausing her session', method: 'POST', path: (v) => `/storage/chunked-upload/${v.R}/pause`, status: 403 },
  { name: 'resuming her session', method: 'POST', path: (v) => `/storage/chunked-upload/${v.R}/resume`, status: 403 },
  { name: 'cancelling her session', method: 'POST', path: (v) => `/storage/chunked-upload/${v.R}/cancel`, status: 403 },
  {
    name: 'cancelling her tus upload through REST',
    method: 'POST',
    path: (v) => `/storage/chunked-upload/${v.P}/cancel`,
    status: 403,
  },
  { name: 'her progress events', method: 'GET', path: (v) => `/storage/chunked-upload/${v.R}/events`, status: 403 },
  { name: 'her asset', method: 'GET', path: (v) => `/storage/assets/${v.A}`, status: 403 },
  { name: 'her asset, %-escaped', method: 'GET', path: (v) => `/storage/assets/${escapedFirst(v.A)}`, status: 403 },
  { name: 'her asset download', method: 'GET', path: (v) => `/storage/assets/${v.A}/download`, status: 403 },
  { name: 'deleting her asset', method: 'DELETE', path: (v) => `/storage/assets/${v.A}`, status: 403 },
  {
    name: 'deleting her asset by override',
    method: 'POST',
    path: (v) => `/storage/assets/${v.A}`,
    headers: { 'X-HTTP-Method-Override': 'DELETE' },
    status: 404,
  },
];

describe('security: one user against another', () => {
  let server: TestServer;
  let alice: StorageApi;
  const bob = uniqueOwner('bob');
  const victim = {} as Victim;
  let original: Record<string, UploadSnapshot>;
  let assetBytes: string;
  let layout: StorageLayout;

  const snapshots = async (): Promise<Record<string, UploadSnapshot>> => {
    const out: Record<string, UploadSnapshot> = {};
    for (const key of ['P', 'D', 'Q', 'R'] as const) out[key] = await snapshotUpload(server, victim[key]);
    return out;
  };

  before(async () => {
    server = await startTestServer();
    const owner = uniqueOwner('alice');
    alice = new StorageApi(server.url, owner);
    const metadata = { filename: SECRET_NAME };
    const p = await createUpload(server.tusUrl, { owner, length: 2 * 5 * 1024 * KiB, metadata });
    expect((await patchUpload(p.url, 0, randomBytes(1000), { owner })).status).to.equal(204);
    victim.P = p.id;
    const d = await createUpload(server.tusUrl, { owner, length: 3000, metadata });
    const done = await patchUpload(d.url, 0, randomBytes(3000), { owner });
    victim.D = d.id;
    victim.A = done.headers.get('upload-asset-id') ?? '';
    const q = await createUpload(server.tusUrl, {
      owner,
      length: 500,
      metadata,
      headers: { 'Upload-Concat': 'partial' },
    });
    expect((await patchUpload(q.url, 0, randomBytes(500), { owner })).status).to.equal(204);
    victim.Q = q.id;
    const r = await alice.initiate({ filename: SECRET_NAME, file_size: 6 * 1024 * KiB, chunk_size: 5 * 1024 * KiB });
    await alice.chunk(r.session_id, 1, randomBytes(5 * 1024 * KiB));
    victim.R = r.session_id;
    layout = new StorageLayout(server.dataDir);
    original = await snapshots();
    const asset = await server.assets.find(victim.A);
    assetBytes = sha256(await readFile(layout.resolve(asset?.storagePath ?? '')));
  });
  after(async () => {
    await server.stop();
  });

  for (const attack of ATTACKS) {
    it(`refuses ${attack.name} (${attack.status})`, async () => {
      const headers: Record<string, string> = { ...bearer(bob), 'Tus-Resumable': TUS_RESUMABLE, ...attack.headers };
      const concat = headers['Upload-Concat'];
      if (concat !== undefined) {
        const part = {
          '': `/files/${victim.Q}`,
          abs: `http://elsewhere.example/files/${victim.Q}`,
          escaped: `/files/x/${escapedFirst(victim.Q)}`,
        }[concat];
        headers['Upload-Concat'] = `final;${part}`;
      }
      const reply = await requestRawPath(server.url, attack.method, attack.path(victim), headers, attack.body);
      expect(reply.status, reply.body).to.equal(attack.status);
      const answer = `${reply.rawHeaders.join('\n')}\n${reply.body}`;
      expect(answer, 'nothing of hers in the answer').to.not.include(Buffer.from(SECRET_NAME).toString('base64'));
      expect(answer).to.not.include(SECRET_NAME);
      expect(reply.headers['upload-offset'], 'no offset of hers').to.equal(undefined);
    });
  }

  it('leaves every session, offset, chunk, byte and asset of hers as it was, and bob has nothing', async () => {
    expect(await snapshots()).to.deep.equal(original);
    const asset = await server.assets.find(victim.A);
    expect(asset?.ownerId).to.equal(alice.owner);
    expect(sha256(await readFile(layout.resolve(asset?.storagePath ?? '')))).to.equal(assetBytes);
    expect(
      await server.sessions.listByOwner(bob, { limit: 10, offset: 0 }),
      'no final upload made for bob',
    ).to.deep.equal([]);
    const list = await new StorageApi(server.url, bob).list();
    expect(list.sessions).to.deep.equal([]);
  });
});
