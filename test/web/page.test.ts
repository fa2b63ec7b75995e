// The upload page in a real browser: Debian's Chromium driven by playwright-core opens the page a
// test server serves, adds a 30 MiB file through the Uppy Dashboard's file input and uploads it;
// the asset must be byte-identical on the server and downloadable from the page. A reload in the
// middle of an upload must resume it, not start it again.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import type * as BrowserSdk from '../../client-sdk/browser/index.js';
import {
  type ClientFixture,
  freshOwner,
  MiB,
  sessionsOf,
  startClientFixture,
  waitForOffset,
} from '../client-sdk/fixture.js';
import { filesEqual, randomFile } from '../helpers/files.js';
import { ROOT } from '../helpers/server.js';
import { tokenFor } from '../helpers/tokens.js';
import { expectAssetOf } from '../helpers/uploads.js';
import {
  addAndUpload as add,
  type Browser,
  launchBrowser,
  listedAsset as listed,
  openPage as open,
} from './browser.js';

const OUTPUT = path.join(ROOT, 'test-output');
const SIZE = 30 * MiB;

describe('upload page in Chromium', function () {
  this.timeout(120_000);
  let f: ClientFixture;
  let browser: Browser;
  let file: string;

  before(async () => {
    browser = await launchBrowser();
    f = await startClientFixture();
    file = await randomFile(f.dir, SIZE, 'browser-30MiB.bin');
    await mkdir(OUTPUT, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await f?.stop();
  });

  const openPage = (owner: string): Promise<Page> => open(browser, f.proxy.url, tokenFor(owner));
  const addAndUpload = (page: Page) => add(page, file);
  const listedAsset = (page: Page) => listed(page, file);

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
});
