// The storage REST API as one owner, for route tests: typed calls for sessions, chunks, completion,
// listings and assets, each checked by the contract on the way (through send in rest.ts).
import { expect } from 'chai';
import { expectContract } from './openapi.js';
import {
  type AssetView,
  chunkNumbers,
  chunkOf,
  type Download,
  fetchBytes,
  type InitiateReply,
  json,
  type Reply,
  type RequestOptions,
  type SessionList,
  type SessionView,
  send,
} from './rest.js';
import { tokenFor } from './tokens.js';

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
