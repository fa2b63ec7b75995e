// The upload page: an Uppy Dashboard sending files over tus to this server with the token from the
// field (and Upload-Checksum on every request that carries bytes), pause and resume per file,
// uploads resumed after a reload when the same file is added again, and the finished assets.
import Uppy, { type Meta, type UppyFile } from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import Tus, { type TusBody } from '@uppy/tus';
import { DefaultHttpStack } from 'tus-js-client';
import {
  ASSET_ID_HEADER,
  browserBodyChecksum,
  browserResendable,
  ClientHttpStack,
  DEFAULT_RETRY_DELAYS,
  getAsset,
  getSessionStatus,
  retryPolicy,
  uploadIdOf,
} from '../../client-sdk/browser/index.js';
import { AssetList } from './assets.js';
import { loadConfig } from './config.js';
import { tokenField } from './token.js';

interface AssetMeta extends Meta {
  asset_type: string;
}

const CHUNK_SIZE = 10 * 1024 * 1024;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

async function main(): Promise<void> {
  const config = await loadConfig();
  const token = tokenField(config.apiUrl, config.devTokens);
  const api = { baseUrl: config.apiUrl, tokens: token.tokens };
  const assets = new AssetList(api, element<HTMLUListElement>('assets'), element('assets-note'));
  const assetType = element<HTMLSelectElement>('asset-type');
  element<HTMLFormElement>('settings').addEventListener('submit', (event) => event.preventDefault());

  const uppy = new Uppy<AssetMeta, TusBody>({ autoProceed: false, meta: { asset_type: assetType.value } });
  assetType.addEventListener('change', () => uppy.setMeta({ asset_type: assetType.value }));
  const shouldRetry = retryPolicy({ canRefreshToken: () => true });

  uppy
    .use(Dashboard<AssetMeta, TusBody>, {
      inline: true,
      target: '#uploader',
      width: '100%',
      height: 420,
      proudlyDisplayPoweredByUppy: false,
      note: 'Uploads resume where they stopped, even after a reload: add the same file again.',
    })
    .use(Tus<AssetMeta, TusBody>, {
      endpoint: config.endpoint,
      chunkSize: CHUNK_SIZE,
      limit: 3,
      retryDelays: [...DEFAULT_RETRY_DELAYS],
      removeFingerprintOnSuccess: true,
      allowedMetaFields: ['name', 'type', 'asset_type'],
      httpStack: new ClientHttpStack(new DefaultHttpStack({}), {
        auth: token.tokens,
        checksum: browserBodyChecksum,
        resendable: browserResendable,
      }),
      // a 429 goes to Uppy's own handling (it slows its queue down); the rest to the shared policy
      onShouldRetry: (error, attempt, _options, next) =>
        error.originalResponse?.getStatus() === 429 ? next(error) : shouldRetry(error, attempt),
    });

  uppy.on('upload-success', (file: UppyFile<AssetMeta, TusBody> | undefined, response) => {
    if (!file) return;
    const fromHeader = response.body?.xhr.getResponseHeader(ASSET_ID_HEADER) ?? null;
    void (async () => {
      // a file the server already had whole answers a HEAD, which names no asset: ask the session
      const assetId =
        fromHeader ?? (await getSessionStatus(api, uploadIdOf(response.uploadURL ?? ''))).asset_id ?? undefined;
      if (!assetId) return;
      const asset = await getAsset(api, assetId);
      assets.add({ assetId, filename: asset.filename, size: asset.size });
    })().catch((error: unknown) => uppy.info(`Uploaded, but the asset could not be read: ${(error as Error).message}`));
  });

  token.onChange(() => void assets.refresh());
  if (token.has()) await assets.refresh();
}

main().catch((error: unknown) => {
  document.body.prepend(Object.assign(document.createElement('p'), { className: 'error', textContent: String(error) }));
});
