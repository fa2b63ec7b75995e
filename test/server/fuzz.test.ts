// A seeded fuzz of every route: 3000 requests with random and boundary tus headers (Upload-Length,
// Upload-Offset, Upload-Metadata, Upload-Concat, Upload-Checksum, Content-Type, method
// overrides), JSON bodies, chunk numbers, list parameters, Range and conditional headers, and
// tokens (valid, forged, expired, odd subjects), aimed at the fuzzers' own uploads and assets, at a
// victim's, and at made-up ids. Checked: no 5xx, no unhandled rejection, the server still answers
// /healthz, nothing written outside DATA_DIR, no upload changed by a request that was refused,
// the victim's uploads and asset untouched, and a normal upload works afterwards. Replay a
// failure with TEST_SEED=<seed printed on failure>.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { randomFile, readRange, removeDir, sha256, tempDir } from '../helpers/files.js';
import { Random, testSeed } from '../helpers/random.js';
import { uniqueOwner } from '../helpers/rest.js';
import { scaled } from '../helpers/scale.js';
import { startTestServerAt, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { tusMetadata, tusPatch, tusSend } from '../helpers/tus-send.js';
import { expectAssetOf, listFiles } from '../helpers/uploads.js';

const REQUESTS = scaled(3000);
const MiB = 1024 * 1024;
const C = 5 * MiB;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The upload session the request aims at, when it names a known one. */
  target?: string;
}

interface FuzzReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a refused request must leave as it was. */
interface SessionState {
  status: string;
  offset: number;
  length: number | null;
  chunks: string;
  assetId: string | null;
  metadata: string;
  filename: string;
  /** sha256 of the data file's bytes up to the recorded offset (null: no data file). */
  prefix: string | null;
}

/** Sends one request as written, reading at most 64 KiB of the answer (an event stream never ends). */
function send(baseUrl: string, request: FuzzRequest): Promise<FuzzReply | 'unsendable'> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: hostname,
        port: Number(port),
        method: request.method,
        path: request.path,
        agent: false,
        headers: request.body ? { ...request.headers, 'Content-Length': String(request.body.length) } : request.headers,
      });
    } catch {
      // a header value Node itself refuses to send (CR, LF, NUL): nothing reaches the server
      resolve('unsendable');
      return;
    }
    req.setTimeout(15_000, () => req.destroy(new Error(`${request.method} ${request.path}: no answer in 15 s`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      const done = () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') });
        req.destroy();
      };
      res.on('data', (d: Buffer) => {
        parts.push(d);
        size += d.length;
        if (size > 64 * 1024) done();
      });
      res.on('end', done);
      res.on('error', done);
      // an event stream stays open: its first bytes are enough
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) done();
    });
    req.end(request.body);
  });
}

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
    const WEIRD = [
      '',
      ' ',
      '../../etc/passwd',
      '..\\..\\x',
      "'; DROP TABLE upload_sessions; --",
      '名前.txt',
      '\u202egnp.exe',
      '\ud800',
      'a'.repeat(300),
      'x'.repeat(9000),
      'line\r\nX-Injected: 1',
      'nul\u0000byte',
      '%00',
      ['$', '{jndi:ldap://127.0.0.1/x}'].join(''),
      '<script>alert(1)</script>',
      '0',
      '-1',
    ];
    const NUMBERS = [
      '',
      '0',
      '1',
      '-1',
      '+1',
      '01',
      '1.5',
      '1e3',
      '0x10',
      ' 7',
      'NaN',
      'Infinity',
      '9007199254740991',
      '9007199254740993',
      '99999999999999999999',
      String(C - 1),
      String(C),
      String(C + 1),
      '100',
      '1000',
    ];
    // a lone surrogate cannot be percent-encoded as UTF-8: send the bytes such a client might
    const encode = (value: string) => {
      try {
        return encodeURIComponent(value);
      } catch {
        return '%ED%A0%80';
      }
    };
    const number = () => (random.bool(0.6) ? random.pick(NUMBERS) : String(random.int(0, 2 * C)));
    const weird = () => random.pick(WEIRD);

    const anyId = (): { id: string; target?: string } => {
      const pool = random.int(0, 9);
      if (pool < 5 && ownSessions.length > 0) {
        const id = random.pick(ownSessions);
        return { id, target: id };
      }
      if (pool < 7) {
        const id = random.pick(victimIds);
        return { id, target: id };
      }
      if (pool < 8) return { id: random.pick([...ownAssets, victimAsset.asset_id]) };
      return { id: random.pick(junkIds) };
    };
    const assetId = () =>
      random.bool(0.4) && ownAssets.length > 0
        ? random.pick(ownAssets)
        : random.bool(0.5)
          ? victimAsset.asset_id
          : random.pick(junkIds);

    const b64url = (v: string) => Buffer.from(v).toString('base64url');
    const handMade = (header: object, payload: object, secret?: string) => {
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
      return `${input}.${secret === undefined ? '' : createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const authorization = (): string | undefined => {
      const r = random.int(0, 99);
      if (r < 55) return `Bearer ${tokenFor(fuzzers[0] ?? '')}`;
      if (r < 70) return `Bearer ${tokenFor(fuzzers[1] ?? '')}`;
      const exp = Math.floor(Date.now() / 1000) + 3600;
      return random.pick([
        undefined,
        'Bearer',
        'Bearer ',
        'Bearer not.a.jwt',
        `Basic ${Buffer.from('a:b').toString('base64')}`,
        `bearer ${tokenFor(fuzzers[0] ?? '')}`,
        `Bearer  ${tokenFor(fuzzers[0] ?? '')}  `,
        `Bearer ${tokenFor(fuzzers[0] ?? '')}x`,
        `Bearer ${handMade({ alg: 'none', typ: 'JWT' }, { sub: victimOwner, exp })}`,
        `Bearer ${handMade({ alg: 'HS256', typ: 'JWT' }, { sub: victimOwner, exp }, 'wrong-secret-0123456789abcdefghij')}`,
        `Bearer ${tokenFor(victimOwner, { expiresIn: -3600 })}`,
        `Bearer ${jwt.sign({ sub: victimOwner }, TEST_JWT_SECRET, { algorithm: 'HS384', expiresIn: 60 })}`,
        `Bearer ${jwt.sign({ name: 'no sub' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 60 })}`,
        `Bearer ${jwt.sign({ sub: 12345 }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 60 })}`,
        `Bearer ${tokenFor(weird() || 'empty')}`,
        `Bearer ${'a'.repeat(3000)}`,
      ]);
    };

    const metadataHeader = (): string => {
      const pairs: string[] = [];
      for (let i = random.int(0, 5); i > 0; i--) {
        const key = random.pick([
          'filename',
          'name',
          'filetype',
          'content_type',
          'asset_type',
          'chunk_size',
          'relativePath',
          random.string(random.int(0, 8), 'abc_- ,\u00e9'),
        ]);
        const value = random.pick([
          weird(),
          random.pick(['model', 'texture', 'other', 'video', 'nope', 'MODEL']),
          random.pick(['image/png', 'text/plain; charset=utf-8', 'bogus', '']),
          number(),
        ]);
        const encoded = random.bool(0.9) ? Buffer.from(value).toString('base64') : random.pick(['***', '=', 'YQ', ' ']);
        pairs.push(random.bool(0.1) ? key : `${key} ${encoded}`);
      }
      return pairs.join(random.bool(0.9) ? ',' : ', ');
    };

    const body = (): Buffer =>
      random.pick([
        Buffer.alloc(0),
        random.bytes(1),
        random.bytes(random.int(2, 4096)),
        random.bytes(random.int(4096, 300_000)),
      ]);

    const jsonBody = (): Buffer => {
      if (random.bool(0.1)) return Buffer.from(random.pick(['{', 'null', '[]', '"x"', '{"a":', '{}}', '', '\u0000']));
      const value = (): unknown =>
        random.pick<unknown>([
          weird(),
          Number(number()) || 0,
          -1,
          1.5,
          1e300,
          Number.MAX_SAFE_INTEGER + 2,
          null,
          true,
          [],
          {},
          { nested: { deeper: [1, 2, 3] } },
          'model',
          'other',
          C,
        ]);
      const object: Record<string, unknown> = {};
      for (const field of ['filename', 'file_size', 'asset_type', 'content_type', 'chunk_size', 'metadata', 'extra']) {
        if (random.bool(0.7)) object[field] = value();
      }
      if (random.bool(0.5)) object.file_size = random.int(0, 3 * C);
      if (random.bool(0.5)) object.asset_type = random.pick(['other', 'model', 'image']);
      if (random.bool(0.5)) object.filename = weird() || 'f.bin';
      if (random.bool(0.3)) {
        object.metadata = Object.fromEntries(
          Array.from({ length: random.int(0, 40) }, (_, i) => [`k${i}${random.string(2, 'xy.$')}`, weird()]),
        );
      }
      return Buffer.from(JSON.stringify(object));
    };

    const range = () =>
      random.pick([
        'bytes=0-0',
        'bytes=0-',
        'bytes=-1',
        'bytes=-0',
        'bytes=5-2',
        'bytes=0-99999999999999999',
        'bytes=abc',
        'bytes=0-1,3-4',
        'bytes=',
        'items=0-1',
        'bytes=-',
        Array.from({ length: 60 }, () => 'bytes=1-1').join(','),
        `bytes=${number()}-${number()}`,
      ]);

    const tusHeaders = (): Record<string, string> => {
      const headers: Record<string, string> = {};
      if (random.bool(0.92)) headers['Tus-Resumable'] = random.pick(['1.0.0', '1.0.0', '1.0.0', '0.2.2', '', '1.0']);
      return headers;
    };

    const generators: (() => FuzzRequest)[] = [
      // tus creation, with and without a body
      () => {
        const headers = tusHeaders();
        if (random.bool(0.8)) headers['Upload-Length'] = number();
        if (random.bool(0.15)) headers['Upload-Defer-Length'] = random.pick(['1', '0', 'yes', '']);
        if (random.bool(0.7)) headers['Upload-Metadata'] = metadataHeader();
        if (random.bool(0.1)) {
          const part = random.bool(0.5) && ownSessions.length > 0 ? random.pick(ownSessions) : random.pick(victimIds);
          headers['Upload-Concat'] = random.pick(['partial', `final;/files/${part}`, 'final;', 'final;x y', 'bogus']);
        }
        if (random.bool(0.1)) headers['Upload-Checksum'] = random.pick(['sha1 AAAA', 'md5 ***', 'crc32', 'sha256 ']);
        if (random.bool(0.05)) headers['X-HTTP-Method-Override'] = random.pick(['PATCH', 'DELETE', 'TRACE', 'get']);
        const withBody = random.bool(0.3);
        if (withBody) headers['Content-Type'] = 'application/offset+octet-stream';
        return { method: 'POST', path: '/files', headers, ...(withBody ? { body: body() } : {}) };
      },
      // tus HEAD, GET, DELETE
      () => {
        const { id, target } = anyId();
        const method = random.pick(['HEAD', 'GET', 'DELETE', 'OPTIONS']);
        return { method, path: `/files/${id}`, headers: tusHeaders(), ...(target ? { target } : {}) };
      },
      // tus PATCH
      () => {
        const { id, target } = anyId();
        const headers = tusHeaders();
        headers['Content-Type'] = random.pick([
          'application/offset+octet-stream',
          'application/offset+octet-stream',
          'application/octet-stream',
          'text/plain',
          'application/offset+octet-stream; charset=x',
        ]);
        if (random.bool(0.9)) headers['Upload-Offset'] = number();
        if (random.bool(0.1)) headers['Upload-Length'] = number();
        if (random.bool(0.15)) {
          headers['Upload-Checksum'] = random.pick(['sha256 AAAA', 'sha1 2jmj7l5rSw0yVb/vlWAYkK/YBwk=', 'md5', 'x y']);
        }
        return { method: 'PATCH', path: `/files/${id}`, headers, body: body(), ...(target ? { target } : {}) };
      },
      // REST initiate
      () => ({
        method: 'POST',
        path: '/storage/chunked-upload',
        headers: {
          'Content-Type': random.pick(['application/json', 'application/json', 'text/plain', 'application/x']),
        },
        body: random.bool(0.02) ? Buffer.alloc(70 * 1024, 0x20) : jsonBody(),
      }),
      // REST list
      () => {
        const query = ['status', 'limit', 'offset']
          .filter(() => random.bool(0.5))
          .map((k) => `${k}=${encode(random.bool(0.5) ? number() : weird())}`)
          .join('&');
        return { method: 'GET', path: `/storage/chunked-upload${query ? `?${query}` : ''}`, headers: {} };
      },
      // REST status, actions, events
      () => {
        const { id, target } = anyId();
        const action = random.pick(['', '/complete', '/pause', '/resume', '/cancel', '/events', '/bogus']);
        const method = action === '' || action === '/events' ? 'GET' : random.pick(['POST', 'POST', 'GET', 'PUT']);
        const headers: Record<string, string> = {};
        if (action === '/events' && random.bool(0.5)) headers['Last-Event-ID'] = random.pick([...NUMBERS, 'x']);
        return { method, path: `/storage/chunked-upload/${id}${action}`, headers, ...(target ? { target } : {}) };
      },
      // REST chunk
      () => {
        const { id, target } = anyId();
        const params = [`chunk_number=${encode(random.bool(0.8) ? number() : weird())}`];
        if (random.bool(0.2)) params.push(`sha256=${random.bool(0.5) ? 'a'.repeat(64) : weird()}`);
        const headers: Record<string, string> = {};
        if (random.bool(0.1)) headers['Upload-Checksum'] = random.pick(['sha256 AAAA', 'bogus']);
        const payload = random.bool(0.05) ? random.bytes(C) : body();
        return {
          method: 'POST',
          path: `/storage/chunked-upload/${id}/chunk${random.bool(0.95) ? `?${params.join('&')}` : ''}`,
          headers,
          body: payload,
          ...(target ? { target } : {}),
        };
      },
      // assets
      () => {
        const id = assetId();
        const kind = random.int(0, 3);
        if (kind === 0) return { method: 'GET', path: `/storage/assets/${id}`, headers: {} };
        if (kind === 1) return { method: 'DELETE', path: `/storage/assets/${id}`, headers: {} };
        const headers: Record<string, string> = {};
        if (random.bool(0.6)) headers.Range = range();
        if (random.bool(0.2))
          headers['If-Range'] = random.pick(['"x"', `"${sha256(data)}"`, 'Mon, 01 Jan 2024 00:00:00 GMT']);
        if (random.bool(0.2)) headers['If-None-Match'] = random.pick(['*', '"x"', 'W/"y"']);
        return { method: random.pick(['GET', 'HEAD']), path: `/storage/assets/${id}/download`, headers };
      },
      // single-shot upload, raw or multipart
      () => {
        if (random.bool(0.5)) {
          const query = [
            ['filename', weird()],
            ['asset_type', random.pick(['other', 'image', 'nope', ''])],
            ['content_type', random.pick(['text/plain', 'x', ''])],
          ]
            .filter(() => random.bool(0.6))
            .map(([k, v]) => `${k}=${encode(v ?? '')}`)
            .join('&');
          return {
            method: 'POST',
            path: `/storage/upload?${query}`,
            headers: {},
            body: random.bool(0.05) ? random.bytes(MiB + 1) : body(),
          };
        }
        const boundary = random.pick(['xyz', '', 'a'.repeat(80), 'b']);
        const name = random.pick(['file', 'asset_type', 'other']);
        const form = Buffer.concat([
          Buffer.from(
            `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${weird().replace(/["\r\n]/g, '')}"\r\n\r\n`,
          ),
          body(),
          Buffer.from(random.bool(0.8) ? `\r\n--${boundary}--\r\n` : ''),
        ]);
        return {
          method: 'POST',
          path: '/storage/upload',
          headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
          body: form,
        };
      },
      // everything else: health, metrics, the page, unknown paths and methods
      () => ({
        method: random.pick(['GET', 'POST', 'PUT', 'TRACE', 'OPTIONS', 'PROPFIND']),
        path: random.pick([
          '/healthz',
          '/readyz',
          '/metrics',
          '/',
          '/app/config.json',
          '/dev/token?sub=x',
          `/${weird().replace(/[^\x21-\x7e]/g, '')}`,
          '/files/',
          '/files//x',
          '/storage',
          '/storage/assets',
          '/%2e%2e/%2e%2e/etc/passwd',
        ]),
        headers: {},
      }),
    ];

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
