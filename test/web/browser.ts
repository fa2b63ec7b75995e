// Chromium for the page tests: Debian's, driven by playwright-core, with a profile of its own (and
// its home directory there, so nothing lands in the user's), and the steps a person takes on the
// upload page: open it with a token, change the token, add a file and upload, find the asset.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildPage } from '../../web/build.js';
import { removeDir, tempDir } from '../helpers/files.js';

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

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Builds the page as the sources are now (the server serves public/dist) and starts Chromium. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium), as .ci/run does`);
  }
  await buildPage({ minify: false });
  const profile = await tempDir('upload-chromium-profile-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    // Chromium keeps crash reports and settings under the home directory: the profile's instead
    env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
    acceptDownloads: true,
    viewport: { width: 1100, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      await removeDir(profile);
    },
  };
}

export async function setToken(page: Page, token: string): Promise<void> {
  await page.fill('#token', token);
  await page.locator('#token').dispatchEvent('change');
}

/** The page at `base`, its Dashboard ready, the token in its field. */
export async function openPage(browser: Browser, base: string, token: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${base}/`);
  await page.locator('.uppy-Dashboard').waitFor();
  await setToken(page, token);
  return page;
}

export async function addAndUpload(page: Page, file: string): Promise<void> {
  await page.setInputFiles('.uppy-Dashboard-input:not([webkitdirectory])', file);
  await page.click('.uppy-StatusBar-actionBtn--upload');
}

/** The id of the finished asset of `file` as the page lists it. */
export async function listedAsset(page: Page, file: string): Promise<string> {
  const item = page.locator('#assets li', { hasText: path.basename(file) }).first();
  await item.waitFor({ timeout: 60_000 });
  return (await item.getAttribute('data-asset-id')) ?? '';
}
