// CORS for the REST API (#14, finding 8): a browser on another origin sends a preflight before any
// request with Authorization; answered 401 by the authentication in front of the routes, it made
// the REST API unusable from other origins. Preflights must be answered before authentication,
// change nothing, and leave tus's own OPTIONS answer to tus.
import { expect } from 'chai';
import { uniqueOwner } from '../helpers/rest.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';

const ORIGIN = 'https://app.example.com';

const PREFLIGHTS: { path: string; method: string; headers: string }[] = [
  { path: '/storage/chunked-upload', method: 'POST', headers: 'authorization,content-type' },
  { path: '/storage/chunked-upload', method: 'GET', headers: 'authorization' },
  { path: '/storage/chunked-upload/0123456789abcdef/chunk?chunk_number=1', method: 'POST', headers: 'authorization' },
  { path: '/storage/chunked-upload/0123456789abcdef/events', method: 'GET', headers: 'authorization,last-event-id' },
  { path: '/storage/upload', method: 'POST', headers: 'authorization,content-type' },
  { path: '/storage/assets/00000000-0000-0000-0000-000000000000', method: 'DELETE', headers: 'authorization' },
  {
    path: '/storage/assets/00000000-0000-0000-0000-000000000000/download',
    method: 'GET',
    headers: 'authorization,range',
  },
];

describe('security: CORS preflights for the REST API', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  for (const { path, method, headers } of PREFLIGHTS) {
    it(`answers a ${method} preflight to ${path} with 204 before authentication`, async () => {
      const res = await fetch(`${server.url}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: ORIGIN, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
      });
      expect(res.status).to.equal(204);
      expect(res.headers.get('access-control-allow-origin')).to.be.oneOf(['*', ORIGIN]);
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const name of headers.split(',')) expect(allowed, `allows ${name}`).to.include(name);
      expect((res.headers.get('access-control-allow-methods') ?? '').toLowerCase()).to.include(method.toLowerCase());
      expect(res.headers.get('www-authenticate')).to.equal(null);
    });
  }

  it('changes nothing: the actual request still needs its token', async () => {
    const owner = uniqueOwner('cors');
    const api = new StorageApi(server.url, owner);
    await fetch(`${server.url}/storage/chunked-upload`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' },
    });
    const anonymous = await fetch(`${server.url}/storage/chunked-upload`, { headers: { Origin: ORIGIN } });
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
    expect(anonymous.headers.get('access-control-allow-origin')).to.be.oneOf(['*', ORIGIN]);
    expect((await api.list()).total).to.equal(0);
  });

  it("leaves the tus endpoint's OPTIONS to tus (Tus-Version, Tus-Extension)", async () => {
    const res = await fetch(server.tusUrl, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status).to.be.within(200, 204);
    expect(res.headers.get('tus-version')).to.include('1.0.0');
    expect(res.headers.get('tus-extension')).to.include('creation');
    expect(res.headers.get('access-control-allow-origin')).to.be.oneOf(['*', ORIGIN]);
  });
});
