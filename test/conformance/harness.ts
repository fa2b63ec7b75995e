// The conformance suite's client: raw HTTP/1.1 with node:http (no fetch, no tus client), one fresh
// connection per request, every informational response kept, bodies sent whole, in pieces, cut off,
// or chunked with trailers. A requirement row gets a `Conformance` context: the live server, a
// fresh owner, and a few shorthands for the requests every row makes.
import http from 'node:http';
import { expect } from 'chai';
import type { TestServer } from '../helpers/server.js';
import { tokenFor, uniqueOwner } from '../helpers/tokens.js';

/** Header names in lower case; a repeated header's values joined by ", ". */
export type Headers = Record<string, string>;

export interface Informational {
  status: number;
  headers: Headers;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  informational: Informational[];
  body: string;
}

export interface RawRequest {
  method: string;
  /** A path (/files/...) or an absolute URL on the server. */
  url: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Sent chunked, piece by piece, with these trailers after the last piece. */
  chunked?: { pieces: Buffer[]; trailers?: Record<string, string> };
  /** Send `after` bytes of `body`, wait for `when`, then cut the connection. */
  cut?: { after: number; when: () => Promise<unknown> };
}

/** One request on its own connection; resolves with the final response and every 1xx before it. */
export function rawRequest(base: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(request.url, base);
  const headers: Record<string, string> = { ...request.headers };
  if (request.body !== undefined) headers['Content-Length'] = String(request.body.length);
  if (request.chunked) {
    headers['Transfer-Encoding'] = 'chunked';
    if (request.chunked.trailers) headers.Trailer = Object.keys(request.chunked.trailers).join(', ');
  }
  return new Promise((resolve, reject) => {
    const informational: Informational[] = [];
    const req = http.request(url, { method: request.method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: flat(res.headers),
          informational,
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('information', (info) => informational.push({ status: info.statusCode, headers: flat(info.headers) }));
    req.setTimeout(30_000, () => req.destroy(new Error(`${request.method} ${url}: no answer in 30 s`)));
    req.on('error', reject);
    if (request.chunked) {
      for (const piece of request.chunked.pieces) req.write(piece);
      if (request.chunked.trailers) req.addTrailers(request.chunked.trailers);
      req.end();
    } else if (request.cut && request.body) {
      const { after, when } = request.cut;
      req.write(request.body.subarray(0, after));
      when().then(
        () => req.destroy(),
        (error: unknown) => req.destroy(error as Error),
      );
    } else {
      req.end(request.body);
    }
  });
}

function flat(headers: http.IncomingHttpHeaders): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export const TUS = { 'Tus-Resumable': '1.0.0' } as const;
export const OFFSET_STREAM = 'application/offset+octet-stream';

/** What one requirement row gets. */
export class Conformance {
  readonly owner = uniqueOwner('conformance');

  constructor(readonly server: TestServer) {}

  get auth(): Record<string, string> {
    return { Authorization: `Bearer ${tokenFor(this.owner)}` };
  }

  /** A request as the row's owner (Authorization added unless given). */
  send(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<RawResponse> {
    return rawRequest(this.server.url, {
      method,
      url,
      headers: { ...this.auth, ...headers },
      ...(body ? { body } : {}),
    });
  }

  raw(request: RawRequest): Promise<RawResponse> {
    return rawRequest(this.server.url, { ...request, headers: { ...this.auth, ...request.headers } });
  }

  /** A tus request (Tus-Resumable added). */
  tus(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<RawResponse> {
    return this.send(method, url, { ...TUS, ...headers }, body);
  }

  /** Creates a tus upload; returns its URL as the Location gave it. */
  async create(headers: Record<string, string>, body?: Buffer): Promise<string> {
    const reply = await this.tus('POST', '/files', headers, body);
    expect(reply.status, reply.body).to.equal(201);
    const location = reply.headers.location;
    expect(location, 'Location').to.be.a('string');
    return location ?? '';
  }

  /** Creates a tus upload of `length` bytes (extra headers allowed). */
  upload(length: number, headers: Record<string, string> = {}): Promise<string> {
    return this.create({ 'Upload-Length': String(length), ...headers });
  }

  patch(url: string, offset: number, body: Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.tus('PATCH', url, { 'Content-Type': OFFSET_STREAM, 'Upload-Offset': String(offset), ...headers }, body);
  }

  head(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.tus('HEAD', url, headers);
  }

  /** The offset a HEAD reports (asserting the HEAD succeeded). */
  async offset(url: string): Promise<number> {
    const reply = await this.head(url);
    expect(reply.status).to.be.oneOf([200, 204]);
    return Number(reply.headers['upload-offset']);
  }

  /** A finished upload of `data`: its URL. */
  async finished(data: Buffer, headers: Record<string, string> = {}): Promise<string> {
    const url = await this.upload(data.length, headers);
    const reply = await this.patch(url, 0, data);
    expect(reply.status, reply.body).to.equal(204);
    return url;
  }
}

/** One requirement of a specification: where it is, the sentence it checks, and the check. */
export interface Requirement {
  /** Short stable id, e.g. core-head-offset. */
  id: string;
  /** Where the sentence is (e.g. "tus 1.0.0 Core Protocol / HEAD"). */
  section: string;
  /** The spec's own words. */
  sentence: string;
  check(t: Conformance): Promise<void>;
}
