// The upload page in a real browser: Debian's Chromium driven by playwright-core opens the page a
// test server serves, adds a 30 MiB file through the Uppy Dashboard's file input and uploads it;
// the asset must be byte-identical on the server and downloadable from the page. A reload in the
// middle of an upload must resume it, not start it again. The page names whose assets it lists,
// starts over when the token changes, drops deleted assets, and says in words why the server refused
// an upload, without retrying it.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type * as BrowserSdk from '../../client-sdk/browser/index.js';
import { buildPage } from '../../web/build.js';
import {
  type ClientFixture,
  freshOwner,
  MiB,
  sessionsOf,
  startClientFixture,
  waitForOffset,
} from '../client-sdk/fixture.js';
import { filesEqual, randomFile, removeDir, tempDir } from '../helpers/files.js';
import { ROOT, startTestServer } from '../helpers/server.js';
import { tokenFor } from '../helpers/tokens.js';
import { expectAssetOf } from '../helpers/uploads.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const OUTPUT = path.join(ROOT, 'test-output');
const SIZE = 30 * MiB;

describe('upload page in Chromium', function () {
  this.timeout(120_000);
  let f: ClientFixture;
  let profile: string;
  let browser: BrowserContext;
  let file: string;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium), as .ci/run does`);
    }
    // the page as the sources are now; the server serves it from public/dist
    await buildPage({ minify: false });
    f = await startClientFixture();
    profile = await tempDir('upload-chromium-profile-');
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      // Chromium keeps crash reports and settings under the home directory: the profile's instead
      env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
      acceptDownloads: true,
      viewport: { width: 1100, height: 1000 },
    });
    file = await randomFile(f.dir, SIZE, 'browser-30MiB.bin');
    await mkdir(OUTPUT, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await f?.stop();
    if (profile) await removeDir(profile);
  });

  async function openPage(owner: string, base = f.proxy.url): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator('.uppy-Dashboard').waitFor();
    await setToken(page, tokenFor(owner));
    return page;
  }

  async function setToken(page: Page, token: string): Promise<void> {
    await page.fill('#token', token);
    await page.locator('#token').dispatchEvent('change');
  }

  async function addAndUpload(page: Page, source = file): Promise<void> {
    await page.setInputFiles('.uppy-Dashboard-input:not([webkitdirectory])', source);
    await page.click('.uppy-StatusBar-actionBtn--upload');
  }

  /** The finished asset as the page lists it. */
  async function listedAsset(page: Page, source = file): Promise<string> {
    const item = page.locator('#assets li', { hasText: path.basename(source) }).first();
    await item.waitFor({ timeout: 60_000 });
    return (await item.getAttribute('data-asset-id')) ?? '';
  }

  it('uploads a 30 MiB file through the Dashboard: the asset is byte-identical and downloads', async () => {
    const owner = freshOwner();
    const page = await openPage(owner);
    const from = f.proxy.requests.length;
    await addAndUpload(page);
    const assetId = await listedAsset(page);
    await expectAssetOf(f.server, assetId, file);
    await page.locator('.uppy-StatusBar.is-complete').waitFor();
    await page.screenshot({ path: path.join(OUTPUT, 'upload-page.png'), fullPage: true });

    // every request with upload bytes carried its sha256
    const withData = f.proxy.requests.slice(from).filter((r) => r.method === 'PATCH' && r.bodyBytes > 0);
    expect(withData.length).to.equal(3);
    for (const request of withData) expect(request.headers['upload-checksum']).to.match(/^sha256 [A-Za-z0-9+/]+=*$/);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click(`#assets li[data-asset-id="${assetId}"] button.download`),
    ]);
    expect(download.suggestedFilename()).to.equal(path.basename(file));
    const saved = path.join(f.dir, 'downloaded-in-browser.bin');
    await download.saveAs(saved);
    expect(await filesEqual(saved, file), 'downloaded bytes equal the source').to.equal(true);
    await page.close();
  });

  it('resumes an upload after the page is reloaded in the middle of it', async () => {
    const owner = freshOwner();
    const page = await openPage(owner);
    f.proxy.setRate(8 * MiB);
    await addAndUpload(page);
    const before = await waitForOffset(f.server, owner, 10 * MiB);

    const from = f.proxy.requests.length;
    await page.reload();
    f.proxy.setRate(null);
    await page.locator('.uppy-Dashboard').waitFor();
    await page.fill('#token', tokenFor(owner));
    await page.locator('#token').dispatchEvent('change');
    await addAndUpload(page);
    const assetId = await listedAsset(page);
    await expectAssetOf(f.server, assetId, file);

    const after = f.proxy.requests.slice(from).filter((r) => r.path.startsWith('/files'));
    expect(
      after.filter((r) => r.method === 'POST'),
      'no new upload was created',
    ).to.deep.equal([]);
    const heads = after.filter((r) => r.method === 'HEAD' && r.status === 200);
    const resumedAt = Number(heads.at(-1)?.responseHeaders?.['upload-offset']);
    expect(resumedAt).to.be.at.least(before.uploadOffset);
    const accepted = after.filter((r) => r.method === 'PATCH' && r.status === 204);
    expect(accepted.reduce((sum, r) => sum + r.bodyBytes, 0)).to.equal(SIZE - resumedAt);
    const sentAfterReload = after.filter((r) => r.method === 'PATCH').reduce((sum, r) => sum + r.bodyBytes, 0);
    expect(sentAfterReload, 'bytes sent after the reload').to.be.below(SIZE);
    expect((await sessionsOf(f.server, owner)).map((s) => s.id)).to.deep.equal([before.id]);
    await page.screenshot({ path: path.join(OUTPUT, 'upload-page-resumed.png'), fullPage: true });
    await page.close();
  });

  it("the SDK's browser build uploads a Blob, and resumes it after an abort", async () => {
    const owner = freshOwner();
    const page = await openPage(owner);
    // the SDK as a script of the page's own origin, so the page's CSP allows it
    const bundle = await build({
      entryPoints: [path.join(ROOT, 'client-sdk/browser/index.ts')],
      bundle: true,
      format: 'iife',
      globalName: 'uploadClient',
      platform: 'browser',
      write: false,
    });
    await page.route('**/sdk-under-test.js', (route) =>
      route.fulfill({ body: bundle.outputFiles[0]?.text ?? '', contentType: 'text/javascript' }),
    );
    await page.addScriptTag({ url: '/sdk-under-test.js' });
    // tsx wraps this file's functions in a __name() call the page does not define
    await page.evaluate('window.__name = (fn) => fn');
    f.proxy.setRate(8 * MiB);
    const outcome = await page.evaluate(
      async ({ endpoint, token, size }) => {
        const sdk = (window as unknown as { uploadClient: typeof BrowserSdk }).uploadClient;
        const bytes = new Uint8Array(size);
        for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
        const file = new File([bytes], 'sdk-in-browser.bin', { lastModified: 1_700_000_000_000 });
        const controller = new AbortController();
        const first = await sdk
          .upload(file, {
            endpoint,
            token,
            chunkSize: 1024 * 1024,
            signal: controller.signal,
            onProgress: (p) => {
              if ((p.percent ?? 0) >= 40) controller.abort();
            },
          })
          .then(
            () => 'finished',
            (error: { kind?: string }) => error.kind,
          );
        const second = await sdk.upload(file, { endpoint, token, chunkSize: 1024 * 1024 });
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
        return { first, second, sha256 };
      },
      { endpoint: `${f.proxy.url}/files`, token: tokenFor(owner), size: 6 * MiB },
    );
    f.proxy.setRate(null);
    expect(outcome.first).to.equal('aborted');
    expect(outcome.second.resumedFrom).to.be.greaterThan(0);
    expect(outcome.second.sha256).to.equal(outcome.sha256);
    const asset = await f.server.assets.find(outcome.second.assetId);
    expect(asset?.size).to.equal(6 * MiB);
    expect((await sessionsOf(f.server, owner)).length, 'one upload, resumed').to.equal(1);
    await page.close();
  });

  it('names the owner; a new token empties the list; a deleted asset is not listed', async () => {
    const alice = freshOwner();
    const small = await randomFile(f.dir, 2 * MiB, 'owner-small.bin');
    const page = await openPage(alice);
    await page.locator('#assets-owner', { hasText: `of ${alice}` }).waitFor();
    await addAndUpload(page, small);
    const assetId = await listedAsset(page, small);

    const bob = freshOwner();
    await setToken(page, tokenFor(bob));
    await page.locator('#assets-owner', { hasText: `of ${bob}` }).waitFor();
    await page.locator('#assets-note', { hasText: 'None yet.' }).waitFor();
    expect(await page.locator('#assets li').count(), "none of alice's assets").to.equal(0);

    const deleted = await fetch(`${f.server.url}/storage/assets/${assetId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${tokenFor(alice)}` },
    });
    expect(deleted.status).to.equal(204);
    await setToken(page, tokenFor(alice));
    await page.locator('#assets-owner', { hasText: `of ${alice}` }).waitFor();
    await page.locator('#assets-note', { hasText: 'None yet.' }).waitFor();
    expect(await page.locator('#assets li').count(), 'the deleted asset is gone').to.equal(0);
    await page.close();
  });

  it('drops the development note once another token is in the field', async () => {
    // no JWT settings: development mode (DEV_TOKENS is the opt-in servers that require one read)
    const dev = await startTestServer({ JWT_SECRET: '', DEV_TOKENS: '1' });
    try {
      const page = await browser.newPage();
      await page.goto(`${dev.url}/`);
      await page.locator('#token-note', { hasText: 'Development mode' }).waitFor();
      await page.locator('#assets-owner', { hasText: 'of browser-user' }).waitFor();
      const other = freshOwner();
      await setToken(page, tokenFor(other));
      await page.locator('#assets-owner', { hasText: `of ${other}` }).waitFor();
      expect(await page.locator('#token-note').textContent()).to.equal(
        'Paste a token issued for you (Authorization: Bearer).',
      );
      await page.close();
    } finally {
      await dev.stop();
    }
  });

  describe('refused uploads', () => {
    let strict: ClientFixture;
    before(async () => {
      strict = await startClientFixture({ MAX_UPLOAD_SIZE: '1MiB', UPLOADS_PER_HOUR: '1' });
    });
    after(async () => {
      await strict?.stop();
    });

    /** Uploads `source` from a new page with `token`; returns the page's reason and the POSTs made. */
    async function refused(token: string, source: string, before?: string): Promise<{ note: string; posts: number }> {
      const page = await openPage('unused', strict.proxy.url);
      await setToken(page, token);
      if (before) {
        await addAndUpload(page, before);
        await listedAsset(page, before);
        await page.reload();
        await page.locator('.uppy-Dashboard').waitFor();
        await setToken(page, token);
      }
      const from = strict.proxy.requests.length;
      await addAndUpload(page, source);
      const note = page.locator('#upload-note');
      await note.locator('xpath=self::*[normalize-space(.) != ""]').waitFor();
      const posts = strict.proxy.requests.slice(from).filter((r) => r.method === 'POST').length;
      const text = (await note.textContent()) ?? '';
      await page.close();
      return { note: text, posts };
    }

    it('says why in words (401, 413, 429) and does not retry', async () => {
      const big = await randomFile(strict.dir, 2 * MiB, 'too-big.bin');
      const tiny = await randomFile(strict.dir, 1000, 'tiny.bin');
      const tiny2 = await randomFile(strict.dir, 1001, 'tiny-2.bin');

      const badToken = await refused('not-a-token', tiny);
      expect(badToken.note).to.match(/^tiny\.bin: The server did not accept the token: .*Paste a valid token/);
      expect(badToken.posts, 'sent once').to.equal(1);

      const tooBig = await refused(tokenFor(freshOwner()), big);
      expect(tooBig.note).to.match(/^too-big\.bin: The file is larger than the server accepts .* Server: .+/);
      expect(tooBig.posts, 'sent once').to.equal(1);

      const tooMany = await refused(tokenFor(freshOwner()), tiny2, tiny);
      expect(tooMany.note).to.match(/^tiny-2\.bin: Too many uploads: .* Try again in \d+ s\.$/);
      expect(tooMany.posts, 'sent once').to.equal(1);
    });
  });
});
