// Attacks with tokens that live too long (#14, finding 8): a token without `exp` would be valid
// forever, one with a far `exp` nearly so, and a leaked one could never be contained. Each case is
// a token the server must refuse with 401 and a reason, and the refused token changes nothing.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { expectError, uniqueOwner } from '../helpers/rest.js';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens.js';

const run = promisify(execFile);
const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: Record<string, unknown>, options: jwt.SignOptions = {}) =>
  jwt.sign(claims, TEST_JWT_SECRET, { algorithm: 'HS256', ...options });

/** Tokens the default configuration (exp required, JWT_MAX_LIFETIME=24h) refuses. */
const REFUSED: { attack: string; token: (sub: string) => string; reason: RegExp }[] = [
  { attack: 'a token without exp', token: (sub) => sign({ sub }), reason: /no expiry \(exp\)/ },
  {
    attack: 'a token without exp or iat',
    token: (sub) => sign({ sub }, { noTimestamp: true }),
    reason: /no expiry \(exp\)/,
  },
  {
    attack: 'a token living a year',
    token: (sub) => sign({ sub }, { expiresIn: 365 * 24 * HOUR }),
    reason: /longer than the 86400 s .*JWT_MAX_LIFETIME/,
  },
  {
    attack: 'a token living 25 hours',
    token: (sub) => sign({ sub }, { expiresIn: 25 * HOUR }),
    reason: /JWT_MAX_LIFETIME/,
  },
  {
    attack: 'a token without iat expiring in a week',
    token: (sub) => sign({ sub, exp: now() + 7 * 24 * HOUR }, { noTimestamp: true }),
    reason: /JWT_MAX_LIFETIME/,
  },
  {
    attack: 'a token whose iat is in the future to hide a long life',
    token: (sub) => sign({ sub, iat: now() + 30 * 24 * HOUR, exp: now() + 30 * 24 * HOUR + HOUR }),
    reason: /JWT_MAX_LIFETIME/,
  },
];

describe('security: token lifetime', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
  });

  for (const { attack, token, reason } of REFUSED) {
    it(`refuses ${attack} with 401, and it creates nothing`, async () => {
      const owner = uniqueOwner('forever');
      const api = new StorageApi(server.url, owner, token(owner));
      const message = expectError(await api.listRaw(), 401, 'unauthorized');
      expect(message).to.match(reason);
      expectError(
        await api.initiateRaw({ filename: 'x.bin', file_size: 10, asset_type: 'other' }),
        401,
        'unauthorized',
      );
      const tus = await fetch(server.tusUrl, {
        method: 'POST',
        headers: { ...api.headers(), 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' },
      });
      expect(tus.status).to.equal(401);
      expect(tus.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
      expect(tus.headers.get('www-authenticate')).to.equal('Bearer');
      expect(await server.sessions.countByOwner(owner)).to.equal(0);
    });
  }

  it('accepts the lifetime npm run token and upload-cli give by default (24 h)', async () => {
    const owner = uniqueOwner('day');
    expect(
      (await new StorageApi(server.url, owner, tokenFor(owner, { expiresIn: 24 * HOUR })).listRaw()).status,
    ).to.equal(200);
  });

  describe('settings', () => {
    let service: TestServer;
    let short: TestServer;
    before(async () => {
      service = await startTestServer({ JWT_REQUIRE_EXP: 'false' });
      short = await startTestServer({ JWT_MAX_LIFETIME: '1h' });
    });
    after(async () => {
      await service?.stop();
      await short?.stop();
    });

    it('JWT_REQUIRE_EXP=false accepts service tokens without exp, and still caps those with one', async () => {
      const owner = uniqueOwner('service');
      expect((await new StorageApi(service.url, owner, sign({ sub: owner })).listRaw()).status).to.equal(200);
      const year = sign({ sub: owner }, { expiresIn: 365 * 24 * HOUR });
      expectError(await new StorageApi(service.url, owner, year).listRaw(), 401, 'unauthorized');
    });

    it('JWT_MAX_LIFETIME=1h refuses a two-hour token', async () => {
      const owner = uniqueOwner('short');
      const api = new StorageApi(short.url, owner, tokenFor(owner, { expiresIn: 2 * HOUR }));
      expect(expectError(await api.listRaw(), 401, 'unauthorized')).to.match(/3600 s/);
      expect((await api.withToken(tokenFor(owner, { expiresIn: HOUR })).listRaw()).status).to.equal(200);
    });
  });

  describe('npm run token', () => {
    const token = (args: string[], env: Record<string, string> = {}) =>
      run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'server/cli/token-cli.ts'), ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_JWT_SECRET, ...env },
      });

    it('refuses to mint a token longer-lived than JWT_MAX_LIFETIME', async () => {
      for (const [args, env] of [
        [['--sub', 'mallory', '--ttl', '48h'], {}],
        [['--sub', 'mallory', '--ttl', '2h'], { JWT_MAX_LIFETIME: '1h' }],
      ] as const) {
        const failed = await token([...args], env).then(
          () => undefined,
          (error: { code?: number; stderr?: string }) => error,
        );
        expect(failed, `${args.join(' ')} must fail`).not.to.equal(undefined);
        expect(failed?.code).to.equal(2);
        expect(failed?.stderr).to.match(/longer than JWT_MAX_LIFETIME/);
      }
    });

    it('mints by default a token the server accepts', async () => {
      const owner = uniqueOwner('cli');
      const { stdout } = await token(['--sub', owner]);
      expect((await new StorageApi(server.url, owner, stdout.trim()).listRaw()).status).to.equal(200);
    });
  });
});
