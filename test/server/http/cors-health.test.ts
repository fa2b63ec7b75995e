// CORS for browsers on another origin (preflight allows Authorization; Location and Upload-Asset-Id
// are exposed; errors such as a 401 carry Access-Control-Allow-Origin too) and the health probes.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { createUpload, patchUpload, tusRequest } from '../../helpers/tus-http.js';

const ORIGIN = 'https://app.example.com';

function headerList(headers: Headers, name: string): string[] {
  return (headers.get(name) ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

function expectAllowedOrigin(headers: Headers): void {
  expect(headers.get('access-control-allow-origin')).to.be.oneOf(['*', ORIGIN]);
}

describe('CORS and health', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  describe('CORS', () => {
    for (const [path, method] of [
      ['', 'POST'],
      ['/0123456789abcdef', 'PATCH'],
    ] as const) {
      it(`answers a ${method} preflight on ${path || 'the endpoint'} allowing Authorization and the tus headers`, async () => {
        const res = await fetch(`${server.tusUrl}${path}`, {
          method: 'OPTIONS',
          headers: {
            Origin: ORIGIN,
            'Access-Control-Request-Method': method,
            'Access-Control-Request-Headers':
              'authorization,tus-resumable,upload-length,upload-metadata,upload-offset,content-type',
          },
        });
        expect(res.status).to.be.within(200, 204);
        expectAllowedOrigin(res.headers);
        const allowed = headerList(res.headers, 'access-control-allow-headers');
        for (const name of ['authorization', 'tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset']) {
          expect(allowed, `Access-Control-Allow-Headers has ${name}`).to.include(name);
        }
        expect(headerList(res.headers, 'access-control-allow-methods')).to.include(method.toLowerCase());
      });
    }

    it('exposes Location and Upload-Asset-Id on tus responses', async () => {
      const owner = uniqueOwner('cors');
      const { url, reply } = await createUpload(server.tusUrl, { owner, length: 10, headers: { Origin: ORIGIN } });
      expectAllowedOrigin(reply.headers);
      expect(headerList(reply.headers, 'access-control-expose-headers')).to.include.members([
        'location',
        'upload-asset-id',
        'upload-offset',
        'upload-expires',
      ]);

      const done = await patchUpload(url, 0, randomBytes(10), { owner, headers: { Origin: ORIGIN } });
      expect(done.status).to.equal(204);
      expect(done.headers.get('upload-asset-id')).to.be.a('string');
      expectAllowedOrigin(done.headers);
      expect(headerList(done.headers, 'access-control-expose-headers')).to.include('upload-asset-id');
    });

    it('puts Access-Control-Allow-Origin on a 401 so the browser can read it', async () => {
      const reply = await tusRequest('POST', server.tusUrl, {
        owner: null,
        headers: { Origin: ORIGIN, 'Upload-Length': '10' },
      });
      expect(reply.status).to.equal(401);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
      expectAllowedOrigin(reply.headers);
      expect(headerList(reply.headers, 'access-control-expose-headers')).to.include('www-authenticate');
    });
  });

  describe('health', () => {
    it('answers GET /healthz with 200', async () => {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.include({ status: 'ok' });
    });

    it('answers GET /readyz with 200 once the database and DATA_DIR are usable', async () => {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.include({
        status: 'ready',
        database: process.env.DATABASE_URL ? 'postgres' : 'pglite',
      });
    });
  });
});
