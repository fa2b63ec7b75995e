// The upload page telling a person what is going on, in Chromium: whose assets it lists (a new
// token starts the list over, deleted assets are gone), the development-mode note only while the
// server's token is in the field, and why the server refused an upload, in words, without a retry.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { type ClientFixture, freshOwner, MiB, startClientFixture } from '../client-sdk/fixture.js';
import { randomFile } from '../helpers/files.js';
import { startTestServer } from '../helpers/server.js';
import { tokenFor } from '../helpers/tokens.js';
import { addAndUpload, type Browser, launchBrowser, listedAsset, openPage as open, setToken } from './browser.js';

describe('upload page feedback in Chromium', function () {
  this.timeout(120_000);
  let f: ClientFixture;
  let browser: Browser;

  before(async () => {
    browser = await launchBrowser();
    f = await startClientFixture();
  });
  after(async () => {
    await browser?.close();
    await f?.stop();
  });

  const openPage = (owner: string): Promise<Page> => open(browser, f.proxy.url, tokenFor(owner));

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
      const page = await browser.context.newPage();
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
      const page = await open(browser, strict.proxy.url, tokenFor('unused'));
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
