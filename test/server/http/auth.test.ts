// Bearer JWT checks on every route of both APIs: no or bad token -> 401 unauthorized with
// WWW-Authenticate: Bearer; alg none, expiry, wrong secret, wrong key kind, issuer and audience.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { expectError, type Reply, send, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { TEST_JWT_SECRET, tokenFor } from '../../helpers/tokens.js';
import { tusSend } from '../../helpers/tus-send.js';

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A JWT built by hand: header and payload as given, signed with HMAC-SHA256 over `secret` if any. */
function handMade(header: object, payload: object, secret?: string | Buffer): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = secret === undefined ? '' : createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

function expectUnauthorized(reply: Reply, what: string): string {
  expect(reply.headers.get('www-authenticate'), what).to.equal('Bearer');
  return expectError(reply, 401, 'unauthorized');
}

const ANY_ID = '0123456789abcdef0123456789abcdef';
const ANY_ASSET = '00000000-0000-4000-8000-000000000000';

/** Every authenticated REST route, with a body where it takes one. */
const REST_ROUTES: [string, string, Buffer?][] = [
  ['POST', '/storage/chunked-upload', Buffer.from('{"filename":"a","file_size":1,"asset_type":"other"}')],
  ['GET', '/storage/chunked-upload'],
  ['GET', `/storage/chunked-upload/${ANY_ID}`],
  ['POST', `/storage/chunked-upload/${ANY_ID}/chunk?chunk_number=1`, Buffer.from('x')],
  ['POST', `/storage/chunked-upload/${ANY_ID}/complete`],
  ['POST', `/storage/chunked-upload/${ANY_ID}/pause`],
  ['POST', `/storage/chunked-upload/${ANY_ID}/resume`],
  ['POST', `/storage/chunked-upload/${ANY_ID}/cancel`],
  ['GET', `/storage/assets/${ANY_ASSET}`],
  ['GET', `/storage/assets/${ANY_ASSET}/download`],
  ['DELETE', `/storage/assets/${ANY_ASSET}`],
  ['POST', '/storage/upload?filename=a.txt', Buffer.from('hello')],
];

describe('authentication', () => {
  describe('with JWT_SECRET (HS256)', () => {
    let server: TestServer;
    let api: StorageApi;
    const owner = uniqueOwner('oscar');

    before(async () => {
      server = await startTestServer();
      api = new StorageApi(server.url, owner);
    });
    after(async () => {
      await server.stop();
    });

    const listWith = (authorization: string | undefined) =>
      send('GET', `${server.url}/storage/chunked-upload`, {
        headers: authorization === undefined ? {} : { Authorization: authorization },
      });

    it('refuses every REST route without a token: 401 unauthorized, WWW-Authenticate: Bearer', async () => {
      const anonymous = api.as(null);
      for (const [method, path, body] of REST_ROUTES) {
        const reply = await anonymous.request(method, path, body ? { body } : {});
        expect(expectUnauthorized(reply, `${method} ${path}`)).to.include('Bearer');
      }
    });

    it('refuses every tus route without a token: 401 with WWW-Authenticate: Bearer', async () => {
      const created = await api.initiate({ file_size: 10 });
      const url = created.upload_url;
      const cases: [string, string, Record<string, string>][] = [
        ['POST', server.tusUrl, { 'Upload-Length': '10' }],
        ['HEAD', url, {}],
        ['PATCH', url, { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' }],
        ['DELETE', url, {}],
        ['GET', url, {}],
      ];
      for (const [method, target, headers] of cases) {
        const reply = await tusSend(method, target, null, headers, method === 'PATCH' ? Buffer.alloc(10) : undefined);
        expect(reply.status, `${method} ${target}`).to.equal(401);
        expect(reply.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
        expect(reply.headers.get('www-authenticate'), `${method} ${target}`).to.equal('Bearer');
      }
      expect((await api.status(created.session_id)).offset).to.equal(0);
      // OPTIONS (CORS preflight and tus discovery) needs no token
      expect((await send('OPTIONS', server.tusUrl)).status).to.be.oneOf([200, 204]);
    });

    it('refuses malformed Authorization headers', async () => {
      for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer not-a-jwt', 'Bearer a.b.c', 'token']) {
        expectUnauthorized(await listWith(header), header);
      }
    });

    it('refuses a token with alg none', async () => {
      const none = handMade({ alg: 'none', typ: 'JWT' }, { sub: owner, exp: inAnHour() });
      expect(none.endsWith('.')).to.equal(true);
      expectUnauthorized(await listWith(`Bearer ${none}`), 'alg none');
      // also with the payload of a valid token and its signature stripped
      const [header, payload] = tokenFor(owner).split('.');
      expectUnauthorized(await listWith(`Bearer ${header}.${payload}.`), 'signature stripped');
      const noneHeader = b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      expectUnauthorized(await listWith(`Bearer ${noneHeader}.${payload}.`), 'alg none over a valid payload');
    });

    it('refuses an expired token, and one not valid yet', async () => {
      const expired = expectUnauthorized(
        await listWith(`Bearer ${tokenFor(owner, { expiresIn: -120 })}`),
        'expired 2 minutes ago',
      );
      expect(expired).to.include('expired');
      const early = expectUnauthorized(
        await listWith(`Bearer ${tokenFor(owner, { notBefore: 120 })}`),
        'valid in 2 minutes',
      );
      expect(early).to.include('not valid yet');
    });

    it('accepts a token expired a few seconds ago, within the clock tolerance', async () => {
      expect((await listWith(`Bearer ${tokenFor(owner, { expiresIn: -5 })}`)).status).to.equal(200);
    });

    it('refuses a token signed with another secret, or with another HMAC algorithm', async () => {
      const other = jwt.sign({ sub: owner }, 'another-secret-that-is-also-long-enough-0123456789', {
        algorithm: 'HS256',
        expiresIn: 3600,
      });
      expectUnauthorized(await listWith(`Bearer ${other}`), 'another secret');
      const hs384 = jwt.sign({ sub: owner }, TEST_JWT_SECRET, { algorithm: 'HS384', expiresIn: 3600 });
      expectUnauthorized(await listWith(`Bearer ${hs384}`), 'HS384');
      // the same secret by hand still works, so the refusals above are about the key and algorithm
      const good = handMade({ alg: 'HS256', typ: 'JWT' }, { sub: owner, exp: inAnHour() }, TEST_JWT_SECRET);
      expect((await listWith(`Bearer ${good}`)).status).to.equal(200);
    });

    it('refuses a token without a subject', async () => {
      const noSub = jwt.sign({ name: 'x' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600 });
      expect(expectUnauthorized(await listWith(`Bearer ${noSub}`), 'no sub')).to.include('sub');
      const emptySub = jwt.sign({ sub: '' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600 });
      expectUnauthorized(await listWith(`Bearer ${emptySub}`), 'empty sub');
    });
  });

  describe('with JWT_PUBLIC_KEY', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaPublicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ecPublicPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const owner = uniqueOwner('peggy');
    let rsaServer: TestServer;
    let ecServer: TestServer;

    before(async () => {
      [rsaServer, ecServer] = await Promise.all([
        startTestServer({ JWT_SECRET: '', JWT_PUBLIC_KEY: rsaPublicPem }),
        startTestServer({ JWT_SECRET: '', JWT_PUBLIC_KEY: ecPublicPem }),
      ]);
    });
    after(async () => {
      await Promise.all([rsaServer.stop(), ecServer.stop()]);
    });

    const listOn = (server: TestServer, token: string) =>
      send('GET', `${server.url}/storage/chunked-upload`, { headers: { Authorization: `Bearer ${token}` } });

    it('accepts an RS256 token on the REST and tus routes', async () => {
      const token = jwt.sign({ sub: owner }, rsa.privateKey, { algorithm: 'RS256', expiresIn: 3600 });
      expect((await listOn(rsaServer, token)).status).to.equal(200);
      const api = new StorageApi(rsaServer.url, owner, token);
      const created = await api.initiate({ file_size: 3 });
      const head = await send('HEAD', created.upload_url, {
        headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` },
      });
      expect(head.status).to.equal(200);
    });

    it('refuses an HS256 token signed with the public key PEM as the secret', async () => {
      const forged = handMade({ alg: 'HS256', typ: 'JWT' }, { sub: owner, exp: inAnHour() }, rsaPublicPem);
      expectUnauthorized(await listOn(rsaServer, forged), 'HS256 over the public key');
      const forgedDer = handMade(
        { alg: 'HS256', typ: 'JWT' },
        { sub: owner, exp: inAnHour() },
        rsa.publicKey.export({ type: 'spki', format: 'der' }),
      );
      expectUnauthorized(await listOn(rsaServer, forgedDer), 'HS256 over the DER public key');
    });

    it('refuses HS256 with the test secret, alg none, and RS256 from another key pair', async () => {
      expectUnauthorized(await listOn(rsaServer, tokenFor(owner)), 'HS256');
      expectUnauthorized(
        await listOn(rsaServer, handMade({ alg: 'none', typ: 'JWT' }, { sub: owner, exp: inAnHour() })),
        'alg none',
      );
      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const token = jwt.sign({ sub: owner }, stranger.privateKey, { algorithm: 'RS256', expiresIn: 3600 });
      expectUnauthorized(await listOn(rsaServer, token), 'another RSA key');
    });

    it('accepts ES256 with an EC public key, and refuses RS256 there', async () => {
      const es = jwt.sign({ sub: owner }, ec.privateKey, { algorithm: 'ES256', expiresIn: 3600 });
      expect((await listOn(ecServer, es)).status).to.equal(200);
      const rs = jwt.sign({ sub: owner }, rsa.privateKey, { algorithm: 'RS256', expiresIn: 3600 });
      expectUnauthorized(await listOn(ecServer, rs), 'RS256 on an ES256 server');
      const forged = handMade({ alg: 'HS256', typ: 'JWT' }, { sub: owner, exp: inAnHour() }, ecPublicPem);
      expectUnauthorized(await listOn(ecServer, forged), 'HS256 over the EC public key');
    });
  });

  describe('with JWT_ISSUER and JWT_AUDIENCE', () => {
    let server: TestServer;
    const owner = uniqueOwner('quinn');
    const issuer = 'https://issuer.example';
    const audience = 'upload-api';

    before(async () => {
      server = await startTestServer({ JWT_ISSUER: issuer, JWT_AUDIENCE: audience });
    });
    after(async () => {
      await server.stop();
    });

    const listWith = (token: string) =>
      send('GET', `${server.url}/storage/chunked-upload`, { headers: { Authorization: `Bearer ${token}` } });

    it('accepts a token with the right iss and aud', async () => {
      expect((await listWith(tokenFor(owner, { issuer, audience }))).status).to.equal(200);
      expect((await listWith(tokenFor(owner, { issuer, audience: ['other', audience] }))).status).to.equal(200);
    });

    it('refuses a token without the right iss', async () => {
      for (const token of [
        tokenFor(owner, { audience }),
        tokenFor(owner, { issuer: 'https://evil.example', audience }),
      ]) {
        expect(expectUnauthorized(await listWith(token), 'issuer')).to.include('issuer');
      }
    });

    it('refuses a token without the right aud', async () => {
      for (const token of [tokenFor(owner, { issuer }), tokenFor(owner, { issuer, audience: 'another-api' })]) {
        expect(expectUnauthorized(await listWith(token), 'audience')).to.include('audience');
      }
    });

    it('applies the same checks to tus', async () => {
      const create = (token: string) =>
        send('POST', server.tusUrl, {
          headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '1', Authorization: `Bearer ${token}` },
        });
      const refused = await create(tokenFor(owner));
      expect(refused.status).to.equal(401);
      expect(refused.headers.get('x-error-type')).to.equal('unauthorized');
      expect((await create(tokenFor(owner, { issuer, audience }))).status).to.equal(201);
    });
  });
});
