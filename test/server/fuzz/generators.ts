// The fuzz test's request generators, one per kind of request: tus creation, HEAD, PATCH, DELETE and
// GET on uploads, the REST session, chunk, complete, pause/resume/cancel, list and events routes,
// and the asset routes, each with random and boundary headers, parameters and bodies.
import { sha256 } from '../../helpers/files.js';
import { C, type FuzzRequest, MiB } from './requests.js';
import type { FuzzPools, FuzzValues } from './values.js';

export function fuzzGenerators(pools: FuzzPools, values: FuzzValues): (() => FuzzRequest)[] {
  const { random, data, ownSessions, victimIds } = pools;
  const { NUMBERS, encode, number, weird, anyId, assetId, metadataHeader, body, jsonBody, range, tusHeaders } = values;
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
  return generators;
}
