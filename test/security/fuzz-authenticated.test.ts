// The authenticated phase of the fuzz: two users with valid tokens send seeded random requests to
// random paths under the tus and REST prefixes, built from each other's ids, their own, made-up
// ones, and every spelling of a path (%-escapes, dot segments, extra segments, query strings,
// matrix parameters, double slashes, method overrides). Checked after every request: no 5xx, and
// an upload of the other user (or of a third, the victim) unchanged whatever the answer; at the
// end the server still answers, and nobody ever got a 2xx for something not theirs. Replay a
// failure with TEST_SEED=<seed printed on failure>.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import { readRange } from '../helpers/files.js';
import { Random, testSeed } from '../helpers/random.js';
import { uniqueOwner } from '../helpers/rest.js';
import { scaled } from '../helpers/scale.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { tokenFor } from '../helpers/tokens.js';
import { createUpload, patchUpload } from '../helpers/tus-http.js';

const REQUESTS = scaled(1500);

interface Sent {
  status: number;
  body: string;
}

function send(baseUrl: string, method: string, target: string, headers: Record<string, string>, body?: Buffer) {
  const { hostname, port } = new URL(baseUrl);
  return new Promise<Sent | 'unsendable'>((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = http.request({ host: hostname, port: Number(port), method, path: target, agent: false, headers });
    } catch {
      resolve('unsendable');
      return;
    }
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${target}: no answer in 15 s`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      const done = () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') });
      res.on('data', (d: Buffer) => {
        parts.push(d);
        size += d.length;
        // an event stream never ends: enough has been seen
        if (size > 16 * 1024 || String(res.headers['content-type']).startsWith('text/event-stream')) {
          res.destroy();
          done();
        }
      });
      res.on('end', done);
      res.on('close', done);
    });
    req.end(body);
  });
}

describe('security: authenticated fuzz of every path shape', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.stop();
  });

  /** What another user must never change: the row's progress and the bytes stored so far. */
  async function stateOf(id: string): Promise<string> {
    const s = await server.sessions.find(id);
    if (!s) return 'none';
    const file = path.join(server.dataDir, 'uploads', id);
    const prefix = await readRange(file, 0, s.uploadOffset).then(
      (bytes) => createHash('sha256').update(bytes).digest('hex'),
      () => null,
    );
    const { status, uploadOffset, uploadLength, chunks, assetId, metadata } = s;
    return JSON.stringify({ status, uploadOffset, uploadLength, chunks, assetId, metadata, prefix });
  }

  it(`answers ${REQUESTS} requests of two users to odd paths without a 5xx or a cross-user effect`, async function () {
    this.timeout(180_000);
    const seed = testSeed(0x5ec0_0014);
    const random = new Random(seed);
    const users = [uniqueOwner('fuzz-x'), uniqueOwner('fuzz-y'), uniqueOwner('victim')];
    // who owns which id: uploads (tus and REST) and assets of every user
    const owners = new Map<string, string>();
    for (const user of users) {
      const api = new StorageApi(server.url, user);
      const open = await createUpload(server.tusUrl, { owner: user, length: 6 * 1024 * 1024 });
      await patchUpload(open.url, 0, randomBytes(5000), { owner: user });
      const done = await createUpload(server.tusUrl, { owner: user, length: 100 });
      const asset = (await patchUpload(done.url, 0, randomBytes(100), { owner: user })).headers.get('upload-asset-id');
      const rest = await api.initiate({ filename: 'r.bin', file_size: 100 });
      for (const id of [open.id, done.id, rest.session_id, asset ?? '']) owners.set(id, user);
    }
    const ids = [...owners.keys()];
    const encodeOne = (id: string) => `%${id.charCodeAt(0).toString(16)}${id.slice(1)}`;
    const spell = (prefix: string, id: string): string =>
      random.pick([
        `${prefix}/${id}`,
        `${prefix}/${encodeOne(id)}`,
        `${prefix}/x/${id}`,
        `${prefix}/${id}/`,
        `${prefix}/${id};v=1`,
        `${prefix}//${id}`,
        `${prefix}/./${id}`,
        `${prefix}/../${prefix.slice(1)}/${id}`,
        `${prefix}/%2e%2e${prefix}/${id}`,
        `${prefix}/zz?x=/${id}`,
        `${prefix}/${id}?x=${random.pick(ids)}`,
        `${prefix}/${id}%00`,
        `${prefix.toUpperCase()}/${id}`,
      ]);
    const tusHeaders = (): Record<string, string> => ({
      'Tus-Resumable': '1.0.0',
      ...(random.bool(0.5) ? { 'Upload-Offset': String(random.pick([0, 100, 5000])) } : {}),
      ...(random.bool(0.4) ? { 'Content-Type': 'application/offset+octet-stream' } : {}),
      ...(random.bool(0.2) ? { 'Upload-Length': String(random.pick([0, 100, 6 * 1024 * 1024])) } : {}),
      ...(random.bool(0.15) ? { 'X-HTTP-Method-Override': random.pick(['PATCH', 'DELETE', 'HEAD', 'GET']) } : {}),
      ...(random.bool(0.1) ? { 'Upload-Concat': `final;/files/${random.pick(ids)}` } : {}),
    });
    const requests: (() => { method: string; target: string; headers: Record<string, string>; body?: Buffer })[] = [
      () => ({
        method: random.pick(['HEAD', 'GET', 'PATCH', 'DELETE', 'POST', 'OPTIONS', 'PUT']),
        target: spell('/files', random.pick(ids)),
        headers: tusHeaders(),
        ...(random.bool(0.5) ? { body: random.bytes(random.int(0, 3000)) } : {}),
      }),
      () => {
        const action = random.pick([
          '',
          '/chunk?chunk_number=1',
          '/complete',
          '/pause',
          '/resume',
          '/cancel',
          '/events',
        ]);
        return {
          method: action === '' || action === '/events' ? random.pick(['GET', 'DELETE']) : 'POST',
          target: `${spell('/storage/chunked-upload', random.pick(ids))}${action}`,
          headers: {},
          ...(action.startsWith('/chunk') ? { body: random.bytes(100) } : {}),
        };
      },
      () => ({
        method: random.pick(['GET', 'DELETE', 'HEAD', 'POST']),
        target: `${spell('/storage/assets', random.pick(ids))}${random.pick(['', '/download'])}`,
        headers: random.bool(0.3) ? { 'X-HTTP-Method-Override': 'DELETE' } : ({} as Record<string, string>),
      }),
    ];

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const before = new Map<string, string>();
    for (const id of ids) before.set(id, await stateOf(id));
    for (let i = 0; i < REQUESTS && failures.length < 10; i++) {
      const caller = random.pick(users.slice(0, 2));
      const request = random.pick(requests)();
      const named = ids.filter((id) => request.target.includes(id) || request.target.includes(id.slice(1)));
      const foreign = named.filter((id) => owners.get(id) !== caller);
      const headers: Record<string, string> = { ...request.headers, Authorization: `Bearer ${tokenFor(caller)}` };
      if (request.body) headers['Content-Length'] = String(request.body.length);
      const reply = await send(server.url, request.method, request.target, headers, request.body);
      if (reply === 'unsendable') continue;
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      const what = `#${i} ${caller} ${request.method} ${request.target} ${JSON.stringify(request.headers)}`;
      if (reply.status >= 500) failures.push(`${what} -> ${reply.status} ${reply.body.slice(0, 200)}`);
      const onlyForeign = foreign.length > 0 && foreign.length === named.length;
      if (onlyForeign && reply.status < 300 && request.method !== 'OPTIONS') {
        failures.push(`${what} -> ${reply.status}: a success on someone else's ${foreign.join(', ')}`);
      }
      for (const id of foreign) {
        const now = await stateOf(id);
        if (now !== before.get(id)) {
          failures.push(`${what} -> ${reply.status} changed ${id} of ${owners.get(id)}: ${before.get(id)} => ${now}`);
        }
      }
      // the caller's own uploads may change (deleting an asset clears its session's asset id too)
      for (const [id, owner] of owners) if (owner === caller) before.set(id, await stateOf(id));
    }
    const summary = [...statuses.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([status, n]) => `${status}:${n}`)
      .join(' ');
    console.log(`      seed ${seed}: ${REQUESTS} requests; ${summary}`);
    expect(failures, `seed ${seed}`).to.deep.equal([]);
    const victim = users[2] ?? '';
    for (const [id, owner] of owners) if (owner === victim) expect(await stateOf(id), id).to.equal(before.get(id));
    expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
  });
});
