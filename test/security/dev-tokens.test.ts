// Attacks on development tokens (#14, finding 7): a generated secret and GET /dev/token must never
// serve anyone but the developer at this machine. Each case is an attack and the refusal it must
// get: configurations that would expose the generated secret refuse to start, and the route refuses
// web pages (Origin, no CORS), proxies (Forwarded, X-Forwarded-*) and foreign Host names.
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../server/config/config.js';
import { type RunningServer, startServer } from '../../server/start.js';
import { removeDir, tempDir } from '../helpers/files.js';
import { requestRawPath } from '../helpers/raw-http.js';
import { uniqueOwner } from '../helpers/rest.js';
import { sharedDatabase } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { TEST_JWT_SECRET } from '../helpers/tokens.js';

const EVIL = 'https://evil.example';

/** Configurations an operator might run, each of which would hand the generated secret's tokens to strangers. */
const REFUSED_CONFIGS: { attack: string; env: Record<string, string>; message: RegExp }[] = [
  {
    attack: 'no JWT settings, listening on every interface',
    env: { HOST: '0.0.0.0' },
    message: /HOST=0\.0\.0\.0.*set JWT_SECRET .* or JWT_PUBLIC_KEY/,
  },
  { attack: 'no JWT settings, on a public address', env: { HOST: '203.0.113.7' }, message: /set JWT_SECRET/ },
  {
    attack: 'no JWT settings in production (behind nginx every client is loopback)',
    env: { NODE_ENV: 'production' },
    message: /NODE_ENV=production but no JWT key is configured: set JWT_SECRET/,
  },
  {
    attack: 'DEV_TOKENS=1 on a non-loopback HOST',
    env: { DEV_TOKENS: '1', HOST: '::' },
    message: /DEV_TOKENS=1 needs a loopback HOST/,
  },
  {
    attack: 'DEV_TOKENS=1 in production',
    env: { DEV_TOKENS: '1', NODE_ENV: 'production' },
    message: /DEV_TOKENS=1 is refused with NODE_ENV=production/,
  },
  {
    attack: 'DEV_TOKENS=1 beside a real JWT secret',
    env: { DEV_TOKENS: '1', JWT_SECRET: TEST_JWT_SECRET },
    message: /DEV_TOKENS=1 .* cannot be combined with JWT_SECRET/,
  },
  { attack: 'DEV_TOKENS with a value that is not a flag', env: { DEV_TOKENS: 'please' }, message: /DEV_TOKENS=/ },
];

/** Requests for /dev/token that must not get a token, and why. */
const REFUSED_REQUESTS: { attack: string; headers: Record<string, string>; message: RegExp }[] = [
  { attack: 'a page on another origin (fetch sends Origin)', headers: { Origin: EVIL }, message: /Origin/ },
  { attack: 'a sandboxed or file: page (Origin: null)', headers: { Origin: 'null' }, message: /Origin/ },
  {
    attack: 'the same origin with Origin (a POST-like fetch)',
    headers: { Origin: 'http://127.0.0.1' },
    message: /Origin/,
  },
  { attack: 'through a proxy (Forwarded)', headers: { Forwarded: 'for=203.0.113.9' }, message: /forwarded/ },
  {
    attack: 'through nginx (X-Forwarded-For)',
    headers: { 'X-Forwarded-For': '203.0.113.9' },
    message: /x-forwarded-for/,
  },
  {
    attack: 'through a proxy (X-Forwarded-Host)',
    headers: { 'X-Forwarded-Host': 'uploads.example.com' },
    message: /x-forwarded-host/,
  },
  {
    attack: 'through a proxy (X-Forwarded-Proto)',
    headers: { 'X-Forwarded-Proto': 'https' },
    message: /x-forwarded-proto/,
  },
  { attack: 'through a proxy (X-Real-IP)', headers: { 'X-Real-IP': '203.0.113.9' }, message: /x-real-ip/ },
  { attack: 'a DNS-rebinding page on its own name (Host)', headers: { Host: 'evil.example:1080' }, message: /Host/ },
];

async function devServer(env: Record<string, string>): Promise<{ server: RunningServer; dir: string }> {
  const dir = await tempDir('upload-dev-tokens-');
  const config = loadConfig({ PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent', ...env });
  return { server: await startServer(config, { database: await sharedDatabase() }), dir };
}

describe('security: development tokens', () => {
  describe('configurations that would expose the generated secret refuse to start', () => {
    for (const { attack, env, message } of REFUSED_CONFIGS) {
      it(`refuses ${attack}`, () => {
        let error: unknown;
        try {
          loadConfig({ DATA_DIR: '/nonexistent', ...env });
        } catch (caught) {
          error = caught;
        }
        expect(error, 'a ConfigError').to.be.instanceOf(ConfigError);
        expect((error as ConfigError).message).to.match(message);
      });
    }

    it('without JWT settings listens on loopback by default, and on every interface with them', () => {
      expect(loadConfig({}).host).to.equal('127.0.0.1');
      expect(loadConfig({}).devTokens, 'dev tokens are opt-in').to.equal(false);
      expect(loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).host).to.equal('0.0.0.0');
      expect(loadConfig({ JWT_SECRET: TEST_JWT_SECRET, NODE_ENV: 'production' }).host).to.equal('0.0.0.0');
      expect(loadConfig({ DEV_TOKENS: '1', HOST: 'localhost' }).devTokens).to.equal(true);
    });
  });

  describe('without DEV_TOKENS=1 (the generated secret only)', () => {
    let dev: { server: RunningServer; dir: string };
    before(async () => {
      dev = await devServer({});
    });
    after(async () => {
      await dev?.server.close();
      if (dev) await removeDir(dev.dir);
    });

    it('has no /dev/token route, and the page is told so', async () => {
      const reply = await fetch(`${dev.server.url}/dev/token?sub=alice`);
      expect(reply.status).to.equal(404);
      expect(reply.headers.get('x-error-type'), 'the error type').to.equal('not_found');
      expect(await reply.text()).not.to.include('token":');
      expect(await (await fetch(`${dev.server.url}/app/config.json`)).json()).to.include({ dev_tokens: false });
    });
  });

  describe('with DEV_TOKENS=1 on loopback', () => {
    let dev: { server: RunningServer; dir: string };
    before(async () => {
      dev = await devServer({ DEV_TOKENS: '1' });
    });
    after(async () => {
      await dev?.server.close();
      if (dev) await removeDir(dev.dir);
    });

    for (const { attack, headers, message } of REFUSED_REQUESTS) {
      it(`refuses ${attack} with 403 and no token, and sends no CORS headers`, async () => {
        const reply = await requestRawPath(dev.server.url, 'GET', '/dev/token?sub=victim', headers);
        expect(reply.status, reply.body).to.equal(403);
        const body = JSON.parse(reply.body) as { error: string; message: string; token?: string };
        expect(body.error).to.equal('forbidden');
        expect(body.message).to.match(message);
        expect(body.token).to.equal(undefined);
        expect(reply.headers['access-control-allow-origin']).to.equal(undefined);
      });
    }

    it('answers a CORS preflight for /dev/token without any CORS permission', async () => {
      const reply = await requestRawPath(dev.server.url, 'OPTIONS', '/dev/token?sub=victim', {
        Origin: EVIL,
        'Access-Control-Request-Method': 'GET',
      });
      expect(reply.headers['access-control-allow-origin']).to.equal(undefined);
      expect(reply.headers['access-control-allow-methods']).to.equal(undefined);
    });

    it('hands a token to a plain request from this machine, without CORS headers, and the page is told so', async () => {
      const owner = uniqueOwner('dev');
      const reply = await fetch(`${dev.server.url}/dev/token?sub=${owner}`);
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('access-control-allow-origin')).to.equal(null);
      expect(reply.headers.get('cache-control')).to.equal('no-store');
      const { token, expires_in } = (await reply.json()) as { token: string; expires_in: number };
      expect(expires_in).to.equal(3600);
      const list = await new StorageApi(dev.server.url, owner, token).listRaw();
      expect(list.status).to.equal(200);
      expect(await (await fetch(`${dev.server.url}/app/config.json`)).json()).to.include({ dev_tokens: true });
    });
  });
});
