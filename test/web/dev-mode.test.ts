// The page's server side: served at / and /app with its config, and GET /dev/token only with
// DEV_TOKENS=1 (no JWT_SECRET or JWT_PUBLIC_KEY, loopback HOST; the attacks on it are in
// test/security/dev-tokens.test.ts). upload-cli's `token` signs with the same dev secret from
// DATA_DIR, and the server accepts what it mints.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { loadConfig } from '../../server/config/config.js';
import { type RunningServer, startServer } from '../../server/start.js';
import { buildPage } from '../../web/build.js';
import { removeDir, tempDir } from '../helpers/files.js';
import { ROOT, sharedDatabase, startTestServer, type TestServer } from '../helpers/server.js';
import { launchBrowser } from './browser.js';

const run = promisify(execFile);

describe('upload page routes and dev tokens', () => {
  let dev: RunningServer;
  let devDir: string;
  let configured: TestServer;

  before(async () => {
    await buildPage({ minify: false });
    devDir = await tempDir('upload-dev-mode-');
    const config = loadConfig({ PORT: '0', DATA_DIR: devDir, DEV_TOKENS: '1', LOG_LEVEL: 'silent' });
    expect(config.auth.kind).to.equal('dev');
    expect(config.host, 'without JWT settings: loopback').to.equal('127.0.0.1');
    dev = await startServer(config, { database: await sharedDatabase() });
    configured = await startTestServer();
  });
  after(async () => {
    await dev?.close();
    await configured?.stop();
    if (devDir) await removeDir(devDir);
  });

  it('serves the page at / and /app/ with a content security policy', async () => {
    for (const where of ['/', '/app/']) {
      const res = await fetch(`${configured.url}${where}`);
      expect(res.status, where).to.equal(200);
      expect(res.headers.get('content-security-policy')).to.include("default-src 'self'");
      expect(await res.text()).to.include('<div id="uploader">');
    }
    expect((await fetch(`${configured.url}/app.js`)).status).to.equal(200);
    expect((await fetch(`${configured.url}/app`, { redirect: 'manual' })).headers.get('location')).to.equal('/app/');
  });

  it('hands out dev tokens only with DEV_TOKENS=1', async () => {
    expect(await (await fetch(`${dev.url}/app/config.json`)).json()).to.deep.equal({
      tus_path: '/files',
      dev_tokens: true,
    });
    expect(await (await fetch(`${configured.url}/app/config.json`)).json()).to.include({ dev_tokens: false });
    const off = await fetch(`${configured.url}/dev/token?sub=alice`);
    expect(off.status).to.equal(404);
    expect(off.headers.get('x-error-type')).to.equal('not_found');

    const res = await fetch(`${dev.url}/dev/token?sub=alice`);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    const { token, sub } = (await res.json()) as { token: string; sub: string };
    expect(sub).to.equal('alice');
    const list = await fetch(`${dev.url}/storage/chunked-upload`, { headers: { Authorization: `Bearer ${token}` } });
    expect(list.status).to.equal(200);
    const bad = await fetch(`${dev.url}/dev/token?sub=${encodeURIComponent('a b')}`);
    expect(bad.status).to.equal(400);
    expect(bad.headers.get('x-error-type')).to.equal('validation_error');
  });

  it('upload-cli token signs with the dev secret in DATA_DIR, and the server accepts it', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'client-sdk/cli.js'), 'token', '--sub', 'carol'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: devDir },
    });
    const token = stdout.trim();
    const list = await fetch(`${dev.url}/storage/chunked-upload`, { headers: { Authorization: `Bearer ${token}` } });
    expect(list.status).to.equal(200);
    const refused = await fetch(`${configured.url}/storage/chunked-upload`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(refused.status, 'another server, another secret').to.equal(401);
    expect(refused.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
  });

  it('in Chromium: the page fills its token field from /dev/token, a page of another origin gets nothing', async () => {
    // another origin: the same machine, another port
    const evil = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<p>hi</p>'));
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    // a profile and a home directory of its own: nothing lands in the user's
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${dev.url}/`);
      // a same-origin GET carries no Origin header, so the page gets its token
      await page.waitForFunction(() => (document.getElementById('token') as HTMLInputElement | null)?.value);
      const token = await page.inputValue('#token');
      const list = await fetch(`${dev.url}/storage/chunked-upload`, { headers: { Authorization: `Bearer ${token}` } });
      expect(list.status).to.equal(200);

      const stranger = await browser.context.newPage();
      await stranger.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const outcome = await stranger.evaluate(async (url) => {
        const read = await fetch(url).then(
          async (r) => `read ${r.status}: ${await r.text()}`,
          (e: Error) => `refused: ${e.message}`,
        );
        const opaque = await fetch(url, { mode: 'no-cors' }).then(
          async (r) => `${r.type} ${r.status} ${(await r.text()).length}`,
          (e: Error) => `refused: ${e.message}`,
        );
        return { read, opaque };
      }, `${dev.url}/dev/token?sub=victim`);
      expect(outcome.read).to.match(/^refused/);
      // no-cors: an opaque answer, or none at all where Chromium's opaque response blocking drops it
      expect(outcome.opaque).to.match(/^(refused|opaque 0 0$)/);
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
  });
});
