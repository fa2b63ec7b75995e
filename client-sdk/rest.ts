// Small typed calls to the server's storage REST API and the tus termination: list sessions, a
// session's status, an asset's metadata, an asset's bytes, cancel. They work in Node and browsers
// (fetch); a 401 is tried once more with a fresh token when getToken() was given, and a request
// that got no answer (or a 502-504 from a proxy) again after each of `retryDelays`, if given.
import type { AssetInfo, SessionList, SessionState, SessionStatus } from './api-types.js';
import { type TokenOptions, TokenSource } from './auth.js';
import { connectionError, errorForResponse, UploadClientError } from './errors.js';
import type { RetryListener } from './retry.js';

export interface ApiOptions extends TokenOptions {
  /** The server's base URL, e.g. http://localhost:1080 (REST routes live under /storage). */
  baseUrl: string;
  /** Token state shared with an upload, so a token refreshed by one is used by the other. */
  tokens?: TokenSource | undefined;
  /** The tus endpoint's path on the server (default /files). */
  tusPath?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Waits in ms before each retry of a request that got no answer or a 502-504 (default: none). */
  retryDelays?: readonly number[] | undefined;
  /** Told before each of those retries. */
  onRetry?: RetryListener | undefined;
}

const GATEWAY_STATUSES = [502, 503, 504];

export interface ListOptions {
  status?: SessionState | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

const sources = new WeakMap<ApiOptions, TokenSource>();

function tokenSource(api: ApiOptions): TokenSource {
  if (api.tokens) return api.tokens;
  let source = sources.get(api);
  if (!source) {
    source = new TokenSource(api);
    sources.set(api, source);
  }
  return source;
}

function urlOf(api: ApiOptions, path: string): string {
  return new URL(path, api.baseUrl.endsWith('/') ? api.baseUrl : `${api.baseUrl}/`).toString();
}

/** One request with the bearer token; after a 401 it asks getToken() again and retries once. */
export async function apiFetch(api: ApiOptions, path: string, init: RequestInit = {}): Promise<Response> {
  const auth = tokenSource(api);
  const url = urlOf(api, path);
  const once = async () => {
    const token = await auth.current();
    const headers = new Headers(init.headers);
    if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
    try {
      const response = await fetch(url, { ...init, headers, signal: init.signal ?? api.signal ?? null });
      return { response, token };
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw new UploadClientError('aborted', `${path}: aborted`);
      throw connectionError(url, error);
    }
  };
  const delays = api.retryDelays ?? [];
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= delays.length;
    let answer: Awaited<ReturnType<typeof once>>;
    try {
      answer = await once();
    } catch (error) {
      if (last || (error as UploadClientError).kind !== 'network') throw error;
      await pause(api, attempt, error as UploadClientError);
      continue;
    }
    let { response, token } = answer;
    if (response.status === 401 && auth.refreshable) {
      auth.invalidate(token);
      // asked again, getToken() may give the same token, which would only be refused again
      if ((await auth.current()) !== token) {
        await response.body?.cancel();
        ({ response, token } = await once());
      }
    }
    if (last || !GATEWAY_STATUSES.includes(response.status)) return response;
    const failed = errorForResponse(`${init.method ?? 'GET'} ${path}`, response.status, await response.text());
    await pause(api, attempt, failed);
  }
}

/** Tells the listener and waits before retry `attempt` (0-based). */
async function pause(api: ApiOptions, attempt: number, error: UploadClientError): Promise<void> {
  const delayMs = api.retryDelays?.[attempt] ?? 0;
  api.onRetry?.({ attempt: attempt + 1, attempts: api.retryDelays?.length ?? 0, delayMs, error });
  await new Promise((resolve) => setTimeout(resolve, delayMs));
}

async function json<T>(api: ApiOptions, what: string, path: string, init?: RequestInit): Promise<T> {
  const response = await apiFetch(api, path, init);
  if (!response.ok) throw errorForResponse(what, response.status, await response.text());
  return (await response.json()) as T;
}

export function listSessions(api: ApiOptions, options: ListOptions = {}): Promise<SessionList> {
  const query = new URLSearchParams();
  if (options.status) query.set('status', options.status);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.offset !== undefined) query.set('offset', String(options.offset));
  const suffix = query.toString() ? `?${query}` : '';
  return json(api, 'listing upload sessions', `storage/chunked-upload${suffix}`);
}

export function getSessionStatus(api: ApiOptions, sessionId: string): Promise<SessionStatus> {
  return json(api, `status of upload ${sessionId}`, `storage/chunked-upload/${encodeURIComponent(sessionId)}`);
}

export function getAsset(api: ApiOptions, assetId: string): Promise<AssetInfo> {
  return json(api, `asset ${assetId}`, `storage/assets/${encodeURIComponent(assetId)}`);
}

/** The download response (status 2xx, body unread); throws for anything else. */
export async function downloadResponse(api: ApiOptions, assetId: string, range?: string): Promise<Response> {
  const headers: Record<string, string> = range ? { Range: range } : {};
  const response = await apiFetch(api, `storage/assets/${encodeURIComponent(assetId)}/download`, { headers });
  if (!response.ok) throw errorForResponse(`download of asset ${assetId}`, response.status, await response.text());
  return response;
}

/** The bytes of an asset, in memory (for big files: downloadToFile in Node, downloadBlob in browsers). */
export async function downloadBytes(api: ApiOptions, assetId: string): Promise<Uint8Array> {
  return new Uint8Array(await (await downloadResponse(api, assetId)).arrayBuffer());
}

/** The id of a tus upload: the last segment of its URL, or the id itself. */
export function uploadIdOf(urlOrId: string): string {
  const path = /^[a-z]+:\/\//i.test(urlOrId) ? new URL(urlOrId).pathname : urlOrId;
  return path.split('/').filter(Boolean).pop() ?? urlOrId;
}

/** Terminates an unfinished upload (tus DELETE): the server drops its bytes and cancels the session. */
export async function cancelUpload(api: ApiOptions, urlOrId: string): Promise<void> {
  const id = uploadIdOf(urlOrId);
  const path = /^[a-z]+:\/\//i.test(urlOrId)
    ? urlOrId
    : `${(api.tusPath ?? '/files').replace(/^\/+/, '')}/${encodeURIComponent(id)}`;
  const response = await apiFetch(api, path, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0' } });
  if (response.status !== 204 && response.status !== 200) {
    throw errorForResponse(`cancelling upload ${id}`, response.status, await response.text());
  }
  await response.body?.cancel();
}
