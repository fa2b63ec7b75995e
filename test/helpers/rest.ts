// Typed HTTP calls for route tests: one request with JSON in and out (send), the checks every
// error response must pass, whole downloads, chunk slicing and raw reads with node:http. Every REST
// response is checked against the contract, docs/openapi.json, on its way to the test (openapi.ts).
// The StorageApi class is in storage-api.ts, the tus requests in tus-send.ts.
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
