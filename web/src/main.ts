// The upload page: an Uppy Dashboard sending files over tus to this server with the token from the
// field (and Upload-Checksum on every request that carries bytes), pause and resume per file,
// uploads resumed after a reload when the same file is added again, and the finished assets. An
// upload the server refuses (4xx) is not retried; the page says why in words.
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
import { refusalMessage } from './refusals.js';
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
  const assets = new AssetList(api, {
    list: element<HTMLUListElement>('assets'),
    note: element('assets-note'),
    owner: element('assets-owner'),
  });
  const uploadNote = element('upload-note');
  const assetType = element<HTMLSelectElement>('asset-type');
  element<HTMLFormElement>('settings').addEventListener('submit', (event) => event.preventDefault());

  const uppy = new Uppy<AssetMeta, TusBody>({ autoProceed: false, meta: { asset_type: assetType.value } });
  assetType.addEventListener('change', () => uppy.setMeta({ asset_type: assetType.value }));
  // a 4xx is final, 401 included: the token in the field is the one a retry would send again
  const shouldRetry = retryPolicy({ canRefreshToken: () => false });
  // the reason of each upload the server refused, in words, until Uppy reports its error
  const refusals = new WeakMap<object, string>();

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
      onShouldRetry: (error, attempt) => {
        // read the answer now: by the time Uppy reports the error it has let go of the request
        const response = error.originalResponse;
        const status = response?.getStatus();
        const message =
          response && status && refusalMessage(status, response.getBody() ?? '', response.getHeader('Retry-After'));
        if (message) refusals.set(error, message);
        return shouldRetry(error, attempt);
      },
    });

  uppy.on('upload', () => {
    uploadNote.textContent = '';
  });
  uppy.on('upload-error', (file, error) => {
    const message = refusals.get(error);
    if (!file || !message) return;
    uploadNote.textContent = `${file.name ?? 'The file'}: ${message}`;
    uppy.setFileState(file.id, { error: message });
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

  const showOwner = () => assets.showOwner(token.owner(), token.has());
  token.onChange(() => {
    uploadNote.textContent = '';
    void showOwner();
  });
  await showOwner();
}

main().catch((error: unknown) => {
  document.body.prepend(Object.assign(document.createElement('p'), { className: 'error', textContent: String(error) }));
});
