// Typed HTTP calls to the storage REST API and the tus endpoint, for route tests: JSON in and out,
// raw bytes for chunks, and the checks every error response must pass. Every REST response is
// checked against the contract, docs/openapi.json, on its way to the test (openapi.ts).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { expect } from 'chai';
import type { assetView } from '../../server/rest/asset-view.js';
import type { SessionView } from '../../server/rest/session-view.js';
import { coveredByContract, expectContract } from './openapi.js';
import { tokenFor } from './tokens.js';

export type { SessionView };
export type AssetView = ReturnType<typeof assetView>;

export interface InitiateReply {
  session_id: string;
  upload_url: string;
  chunk_size: number;
  total_chunks: number | null;
  status: string;
  expires_at: string;
}

export interface SessionList {
  sessions: SessionView[];
  total: number;
  limit: number;
  offset: number;
}

export interface ErrorBody {
  error: string;
  message: string;
}

export interface Reply {
  status: number;
  headers: Headers;
  /** The body as text ('' for HEAD). */
  text: string;
}

/** An owner name no other test uses, so per-owner counts (rate limits, lists) start at zero. */
export function uniqueOwner(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

/** `Authorization: Bearer` for `owner`, or for a ready-made token. */
export function bearer(owner: string, token = tokenFor(owner)): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

export function json<T>(reply: Reply): T {
  expect(reply.headers.get('content-type') ?? '', `content type of ${reply.status} ${reply.text}`).to.match(
    /^application\/json/,
  );
  return JSON.parse(reply.text) as T;
}

/** Asserts a REST error: the status, a JSON `{error, message}` body of that type; returns the message. */
export function expectError(reply: Reply, status: number, type: string): string {
  expect(reply.status, reply.text).to.equal(status);
  const body = json<ErrorBody>(reply);
  expect(body.error, body.message).to.equal(type);
  expect(body.message).to.be.a('string').and.not.equal('');
  expect(Object.keys(body).sort()).to.deep.equal(['error', 'message']);
  expect(reply.headers.get('x-error-type'), 'X-Error-Type names the same type').to.equal(type);
  return body.message;
}

export interface RequestOptions {
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is. */
  body?: Buffer | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
}

/** One request; the body is read whole. */
export async function send(method: string, url: string, options: RequestOptions = {}): Promise<Reply> {
  const headers = new Headers(options.headers);
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (Buffer.isBuffer(options.body)) {
    if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/octet-stream');
    body = new Uint8Array(options.body);
  } else {
    body = options.body;
  }
  // undici needs `duplex: 'half'` for a streamed body; the RequestInit type does not list it yet
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (body !== undefined) init.body = body;
  if (body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(url, init);
  const text = method === 'HEAD' ? '' : await res.text();
  if (coveredByContract(url)) expectContract(method, url, res.status, res.headers, text);
  return { status: res.status, headers: res.headers, text };
}

export interface NewSession {
  filename?: string;
  file_size: number;
  asset_type?: string;
  content_type?: string;
  chunk_size?: number;
  metadata?: Record<string, string>;
}

/** The storage REST API as one owner (or with no token at all when `owner` is null). */
export class StorageApi {
  constructor(
    readonly baseUrl: string,
    readonly owner: string | null,
    private readonly token: string | undefined = owner === null ? undefined : tokenFor(owner),
  ) {}

  /** The same API with another caller. */
  as(owner: string | null, token?: string): StorageApi {
    return new StorageApi(this.baseUrl, owner, token);
  }

  withToken(token: string): StorageApi {
    return new StorageApi(this.baseUrl, this.owner, token);
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token === undefined ? { ...extra } : { Authorization: `Bearer ${this.token}`, ...extra };
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    return send(method, url, { ...options, headers: this.headers(options.headers) });
  }

  initiateRaw(body: unknown): Promise<Reply> {
    return this.request('POST', '/storage/chunked-upload', { json: body });
  }

  /** POST /storage/chunked-upload; throws unless 201. */
  async initiate(session: NewSession): Promise<InitiateReply> {
    const reply = await this.initiateRaw({ filename: 'file.bin', asset_type: 'other', ...session });
    expect(reply.status, reply.text).to.equal(201);
    return json<InitiateReply>(reply);
  }

  statusRaw(id: string): Promise<Reply> {
    return this.request('GET', `/storage/chunked-upload/${id}`);
  }

  async status(id: string): Promise<SessionView> {
    const reply = await this.statusRaw(id);
    expect(reply.status, reply.text).to.equal(200);
    return json<SessionView>(reply);
  }

  chunkRaw(id: string, chunkNumber: number | string, bytes: Buffer | ReadableStream<Uint8Array>): Promise<Reply> {
    return this.request('POST', `/storage/chunked-upload/${id}/chunk?chunk_number=${chunkNumber}`, { body: bytes });
  }

  /** Sends one chunk; throws unless 200. */
  async chunk(id: string, chunkNumber: number, bytes: Buffer): Promise<SessionView> {
    const reply = await this.chunkRaw(id, chunkNumber, bytes);
    expect(reply.status, reply.text).to.equal(200);
    return json<SessionView>(reply);
  }

  actionRaw(id: string, action: 'complete' | 'pause' | 'resume' | 'cancel'): Promise<Reply> {
    return this.request('POST', `/storage/chunked-upload/${id}/${action}`);
  }

  async action(id: string, action: 'pause' | 'resume' | 'cancel'): Promise<SessionView> {
    const reply = await this.actionRaw(id, action);
    expect(reply.status, reply.text).to.equal(200);
    return json<SessionView>(reply);
  }

  async complete(id: string): Promise<AssetView> {
    const reply = await this.actionRaw(id, 'complete');
    expect(reply.status, reply.text).to.equal(200);
    return json<AssetView>(reply);
  }

  listRaw(query = ''): Promise<Reply> {
    return this.request('GET', `/storage/chunked-upload${query ? `?${query}` : ''}`);
  }

  async list(query = ''): Promise<SessionList> {
    const reply = await this.listRaw(query);
    expect(reply.status, reply.text).to.equal(200);
    return json<SessionList>(reply);
  }

  assetRaw(id: string): Promise<Reply> {
    return this.request('GET', `/storage/assets/${id}`);
  }

  async asset(id: string): Promise<AssetView> {
    const reply = await this.assetRaw(id);
    expect(reply.status, reply.text).to.equal(200);
    return json<AssetView>(reply);
  }

  /** GET .../download as bytes (with any extra headers, e.g. Range). */
  async download(id: string, headers: Record<string, string> = {}): Promise<Download> {
    return fetchBytes(`${this.baseUrl}/storage/assets/${id}/download`, this.headers(headers));
  }

  deleteAssetRaw(id: string): Promise<Reply> {
    return this.request('DELETE', `/storage/assets/${id}`);
  }

  /** POST /storage/upload with a raw body and query parameters. */
  uploadRaw(bytes: Buffer | ReadableStream<Uint8Array>, query: Record<string, string>): Promise<Reply> {
    return this.request('POST', `/storage/upload?${new URLSearchParams(query)}`, { body: bytes });
  }

  /** POST /storage/upload as multipart form data, fields in the order given. */
  uploadForm(form: FormData): Promise<Reply> {
    const url = `${this.baseUrl}/storage/upload`;
    return fetch(url, { method: 'POST', headers: this.headers(), body: form }).then(async (res) => {
      const text = await res.text();
      expectContract('POST', url, res.status, res.headers, text);
      return { status: res.status, headers: res.headers, text };
    });
  }

  /** Sends every chunk of `data` to a session whose chunk size is `chunkSize`. */
  async sendAll(id: string, data: Buffer, chunkSize: number, numbers?: number[]): Promise<void> {
    for (const n of numbers ?? chunkNumbers(data.length, chunkSize)) {
      await this.chunk(id, n, chunkOf(data, n, chunkSize));
    }
  }
}

export interface Download {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

export async function fetchBytes(url: string, headers: Record<string, string>): Promise<Download> {
  const res = await fetch(url, { headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (coveredByContract(url)) {
    const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
    expectContract('GET', url, res.status, res.headers, json ? bytes.toString('utf8') : '');
  }
  return { status: res.status, headers: res.headers, bytes };
}

/** Chunk n (1-based) of `data`. */
export function chunkOf(data: Buffer, n: number, chunkSize: number): Buffer {
  return data.subarray((n - 1) * chunkSize, Math.min(data.length, n * chunkSize));
}

export function chunkNumbers(length: number, chunkSize: number): number[] {
  return Array.from({ length: Math.ceil(length / chunkSize) }, (_, i) => i + 1);
}

/** A tus request with Tus-Resumable and the owner's token (none when `owner` is null). */
export function tusSend(
  method: string,
  url: string,
  owner: string | null,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<Reply> {
  return send(method, url, {
    headers: { 'Tus-Resumable': '1.0.0', ...(owner === null ? {} : bearer(owner)), ...headers },
    ...(body ? { body } : {}),
  });
}

/** Upload-Metadata: key base64(value) pairs. */
export function tusMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

/** A tus PATCH of `bytes` at `offset`. */
export function tusPatch(url: string, owner: string, offset: number, bytes: Buffer): Promise<Reply> {
  return tusSend(
    'PATCH',
    url,
    owner,
    { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) },
    bytes,
  );
}

/** A response read with node:http, keeping the header lines exactly as received. */
export interface RawResponse {
  status: number;
  rawHeaders: string[];
  body: Buffer;
}

export function rawGet(url: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(parts) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Runs `task` over `items` with at most `limit` running at once; returns the peak concurrency. */
export async function runPool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  let running = 0;
  let peak = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const item = items[index];
      if (index >= items.length || item === undefined) return;
      running++;
      peak = Math.max(peak, running);
      try {
        await task(item);
      } finally {
        running--;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return peak;
}

/** A Fisher-Yates shuffle of a copy of `items`. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE(0) % (i + 1);
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}
