// The upload itself, over tus-js-client: resumes an earlier upload of the same source if one was
// left unfinished, reports progress, and settles with the asset the server made. pause(), resume()
// and cancel() steer it; an AbortSignal stops it for good but leaves it resumable.
import { type PreviousUpload, Upload } from 'tus-js-client';
import { TokenSource } from './auth.js';
import { UploadClientError } from './errors.js';
import { ClientHttpStack } from './http-stack.js';
import { Observations } from './observations.js';
import type { Platform, PreparedSource } from './platform.js';
import { ProgressMeter } from './progress.js';
import { type ApiOptions, cancelUpload, getAsset, getSessionStatus, uploadIdOf } from './rest.js';
import { fromTusError } from './tus-errors.js';
import { tusOptions } from './tus-options.js';
import type { UploadOptions, UploadResult, UploadTask } from './types.js';

type State = 'starting' | 'running' | 'paused' | 'finishing' | 'settled';
type TusInput = ConstructorParameters<typeof Upload>[0];

/** DELETE, waiting out a 423 while the server lets go of a request that was just stopped. */
async function terminate(api: ApiOptions, url: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await cancelUpload(api, url);
      return;
    } catch (error) {
      const { kind, status } = error as UploadClientError;
      if (kind === 'not_found') return;
      if ((status !== 423 && kind !== 'network') || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}

/**
 * The error of an upload stopped through its signal, saying whether running it again continues it:
 * only when this client remembers it (its fingerprint is stored, which happens once the server has
 * answered the creating request; a creation cut off is cancelled by the server).
 */
async function stopped(
  options: UploadOptions,
  source: PreparedSource | undefined,
  platform: Platform,
): Promise<UploadClientError> {
  const aborted = (message: string, resumable = false) =>
    new UploadClientError('aborted', `the upload was stopped; ${message}`, undefined, undefined, resumable);
  if (options.resume === false) return aborted('resume is off, so running it again starts over');
  const notYet = aborted('the server had not accepted it yet, so running it again starts over');
  if (!source) return notYet;
  if (source.fingerprint === null) return aborted('the source has no fingerprint, so running it again starts over');
  const remembered = await platform.urlStorage.findUploadsByFingerprint(source.fingerprint).catch(() => []);
  return remembered.length > 0 ? aborted('running it again continues from the bytes the server has', true) : notYet;
}

function latest(previous: PreviousUpload[]): PreviousUpload | undefined {
  return [...previous].sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime))[0];
}

/** Starts an upload of the source `prepare` resolves to; the task is returned at once. */
export function startUpload(
  prepare: () => Promise<PreparedSource>,
  options: UploadOptions,
  platform: Platform,
): UploadTask {
  const endpoint = new URL(options.endpoint, platform.baseHref).toString();
  const tokens = new TokenSource(options);
  const api: ApiOptions = { baseUrl: options.apiUrl ?? new URL(endpoint).origin, tokens };
  const meter = new ProgressMeter();
  const seen = new Observations(endpoint);
  const stack = new ClientHttpStack(platform.httpStack, {
    auth: tokens,
    whenConnected: platform.whenConnected,
    checksum: options.checksum === false ? undefined : platform.checksum,
    resendable: platform.resendable,
    onResponse: (request, response) => seen.record(request, response),
    onSend: (request, response) => seen.sent(request, response),
  });

  let state: State = 'starting';
  let tus: Upload | undefined;
  let source: PreparedSource | undefined;
  let settle: { resolve: (r: UploadResult) => void; reject: (e: UploadClientError) => void } | undefined;
  const done = new Promise<UploadResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const fail = (error: UploadClientError, byCaller = false) => {
    if (state === 'settled') return;
    state = 'settled';
    options.signal?.removeEventListener('abort', onAbort);
    // stopped by the caller, who knows: an unawaited task must not crash the process
    if (byCaller) done.catch(() => {});
    settle?.reject(error);
  };

  /** Forgets the source's unfinished uploads, waiting for the store (a CLI exits right after). */
  const forget = async (fingerprint: string | null) => {
    if (fingerprint === null) return;
    for (const entry of await platform.urlStorage.findUploadsByFingerprint(fingerprint)) {
      await platform.urlStorage.removeUpload(entry.urlStorageKey);
    }
  };

  const finish = async (upload: Upload, { size, fingerprint }: PreparedSource) => {
    state = 'finishing';
    const url = upload.url ?? '';
    const uploadId = uploadIdOf(url);
    const assetId = seen.assetId ?? (await getSessionStatus(api, uploadId)).asset_id;
    if (!assetId) throw new UploadClientError('server', `upload ${uploadId} finished but the server names no asset`);
    const asset = await getAsset(api, assetId);
    if (size !== null && asset.size !== size) {
      throw new UploadClientError('server', `asset ${assetId} has ${asset.size} bytes, the source ${size}`);
    }
    await forget(fingerprint);
    options.onProgress?.(meter.complete(asset.size));
    state = 'settled';
    options.signal?.removeEventListener('abort', onAbort);
    settle?.resolve({ assetId, sha256: asset.sha256, size: asset.size, url, uploadId, resumedFrom: seen.resumedFrom });
  };

  const ready = (async () => {
    const prepared = await prepare();
    const upload = new Upload(
      prepared.input as TusInput,
      tusOptions(prepared, options, {
        endpoint,
        httpStack: stack,
        urlStorage: platform.urlStorage,
        fileReader: platform.fileReader,
        canRefreshToken: () => tokens.refreshable,
        onProgress: (sent, total) => options.onProgress?.(meter.update(sent, total ?? prepared.size)),
        onSuccess: () => void finish(upload, prepared).catch((error: unknown) => fail(fromTusError(error))),
        onError: (error) => fail(fromTusError(error)),
      }),
    );
    source = prepared;
    tus = upload;
    if (options.resume === false || prepared.fingerprint === null) return upload;
    const previous = latest(await upload.findPreviousUploads());
    if (previous) {
      for (const url of [previous.uploadUrl, ...(previous.parallelUploadUrls ?? [])]) if (url) seen.urls.add(url);
      upload.resumeFromPreviousUpload(previous);
    }
    return upload;
  })();

  const runWhenReady = () => {
    ready.then(
      (upload) => {
        if (state !== 'starting') return;
        state = 'running';
        upload.start();
      },
      (error: unknown) => fail(fromTusError(error)),
    );
  };
  runWhenReady();

  const onAbort = () => {
    void ready
      .then((upload) => upload.abort(false))
      .catch(() => {})
      .then(() => stopped(options, source, platform))
      .then((error) => fail(error, true));
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const controls = {
    get url(): string | null {
      return tus?.url ?? null;
    },
    async pause(): Promise<void> {
      if (state !== 'running' && state !== 'starting') return;
      state = 'paused';
      await tus?.abort(false);
    },
    resume(): void {
      if (state !== 'paused') return;
      state = 'starting';
      runWhenReady();
    },
    async cancel(): Promise<void> {
      if (state === 'settled' || state === 'finishing') return;
      state = 'paused';
      const upload = await ready.catch(() => undefined);
      // an upload being created now is one to delete too: wait to learn its URL
      await seen.creationsSettled(10_000);
      await upload?.abort(false).catch(() => {});
      // every upload made for this source: the single one, or the parts of a parallel upload
      const urls = new Set(seen.urls);
      if (upload?.url) urls.add(upload.url);
      for (const url of urls) await terminate(api, url);
      await forget(source?.fingerprint ?? null);
      fail(new UploadClientError('cancelled', 'the upload was cancelled and removed from the server'), true);
    },
  };
  return Object.defineProperties(done, Object.getOwnPropertyDescriptors(controls)) as UploadTask;
}
