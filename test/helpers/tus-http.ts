// Raw tus requests, for protocol-level tests: fetch for whole requests, node:http for a PATCH whose
// body is sent piece by piece and can be cut off part-way.
import { once } from 'node:events';
import http from 'node:http';
import { expect } from 'chai';
import { tokenFor } from './tokens.js';

export const TUS_RESUMABLE = '1.0.0';
export const OFFSET_CONTENT_TYPE = 'application/offset+octet-stream';

export interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

export interface TusRequestOptions {
  /** Owner whose token is sent (default alice); null sends no Authorization header. */
  owner?: string | null;
  /** Extra headers; a null value removes a default header (Tus-Resumable, Authorization). */
  headers?: Record<string, string | null>;
  body?: Buffer | ReadableStream<Uint8Array>;
}

/** One tus request with Tus-Resumable and a bearer token unless told otherwise. */
export async function tusRequest(method: string, url: string, options: TusRequestOptions = {}): Promise<Reply> {
  const { owner = 'alice', body } = options;
  const headers = new Headers({ 'Tus-Resumable': TUS_RESUMABLE });
  if (owner !== null) headers.set('Authorization', `Bearer ${tokenFor(owner)}`);
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  // undici needs `duplex: 'half'` for a streamed body; the RequestInit type does not list it yet
  const init: RequestInit & { duplex?: 'half' } =
    body === undefined
      ? { method, headers }
      : Buffer.isBuffer(body)
        ? { method, headers, body: new Uint8Array(body) }
        : { method, headers, body, duplex: 'half' };
  const res = await fetch(url, init);
  const text = method === 'HEAD' ? '' : await res.text();
  return { status: res.status, headers: res.headers, body: text };
}

/** A tus error answer: its status and its error type (the X-Error-Type header). */
export function expectTusError(reply: Reply, status: number, type: string): string {
  expect(reply.status, reply.body).to.equal(status);
  expect(reply.headers.get('x-error-type'), reply.body).to.equal(type);
  return reply.body;
}

/** Upload-Metadata header value: key base64(value) pairs. */
export function encodeMetadata(metadata: Record<string, string | Buffer>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

export interface CreateOptions {
  owner?: string;
  /** Upload-Length; omit with `deferLength`. */
  length?: number;
  deferLength?: boolean;
  metadata?: Record<string, string | Buffer>;
  headers?: Record<string, string | null>;
}

export interface CreatedUpload {
  /** Absolute URL of the upload. */
  url: string;
  /** The upload id (last URL segment), which is also the session id. */
  id: string;
  reply: Reply;
}

/** POST to the tus endpoint; throws unless the server answers 201 with a Location. */
export async function createUpload(tusUrl: string, options: CreateOptions = {}): Promise<CreatedUpload> {
  const headers: Record<string, string | null> = {};
  if (options.deferLength) headers['Upload-Defer-Length'] = '1';
  else headers['Upload-Length'] = String(options.length ?? 0);
  headers['Upload-Metadata'] = encodeMetadata(options.metadata ?? { filename: 'test.bin' });
  const reply = await tusRequest('POST', tusUrl, {
    owner: options.owner ?? 'alice',
    headers: { ...headers, ...options.headers },
  });
  const location = reply.headers.get('location');
  if (reply.status !== 201 || !location) {
    throw new Error(`creating an upload failed: ${reply.status} ${reply.body}`);
  }
  const url = new URL(location, tusUrl).toString();
  return { url, id: uploadIdOf(url), reply };
}

export function uploadIdOf(url: string): string {
  const id = new URL(url).pathname.split('/').filter(Boolean).pop();
  if (!id) throw new Error(`no upload id in ${url}`);
  return id;
}

/** A PATCH with the tus headers for `offset`; `headers` may override or remove any of them. */
export function patchUpload(
  url: string,
  offset: number,
  body: Buffer | ReadableStream<Uint8Array>,
  options: TusRequestOptions = {},
): Promise<Reply> {
  return tusRequest('PATCH', url, {
    ...options,
    body,
    headers: { 'Content-Type': OFFSET_CONTENT_TYPE, 'Upload-Offset': String(offset), ...options.headers },
  });
}

/** The Upload-Offset a HEAD reports; throws unless the HEAD answers 200. */
export async function headOffset(url: string, owner = 'alice'): Promise<number> {
  const reply = await tusRequest('HEAD', url, { owner });
  const offset = reply.headers.get('upload-offset');
  if (reply.status !== 200 || offset === null) throw new Error(`HEAD ${url} answered ${reply.status}`);
  return Number(offset);
}

/** A request body as a stream sent with chunked transfer encoding, one piece at a time. */
export function streamOf(pieces: Buffer[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[i++];
      if (piece) controller.enqueue(new Uint8Array(piece));
      else controller.close();
    },
  });
}

/**
 * A PATCH whose body the test sends piece by piece. `bytesSent` counts what was handed to the
 * socket; the server can have received at most that much.
 */
export class OpenPatch {
  private readonly request: http.ClientRequest;
  private failure: Error | undefined;
  readonly response: Promise<http.IncomingMessage>;
  bytesSent = 0;

  constructor(url: string, offset: number, contentLength: number, owner = 'alice') {
    this.request = http.request(url, {
      method: 'PATCH',
      headers: {
        'Tus-Resumable': TUS_RESUMABLE,
        'Content-Type': OFFSET_CONTENT_TYPE,
        'Upload-Offset': String(offset),
        'Content-Length': String(contentLength),
        Authorization: `Bearer ${tokenFor(owner)}`,
      },
    });
    this.request.on('error', (error) => {
      this.failure = error;
    });
    this.response = new Promise((resolve, reject) => {
      this.request.once('response', resolve);
      this.request.once('error', reject);
    });
    // a cut-off request is expected to fail; callers that care await `response` themselves
    this.response.catch(() => {});
  }

  /** Sends `data`, waiting for the socket to drain when its buffer is full. */
  async send(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const flushed = this.request.write(data);
    this.bytesSent += data.length;
    if (!flushed) {
      const drained = once(this.request, 'drain').then(
        () => {},
        () => {},
      );
      await Promise.race([
        drained,
        this.response.then(
          () => {},
          () => {},
        ),
      ]);
    }
    if (this.failure) throw this.failure;
  }

  /** Cuts the connection: the server sees the request body end early. */
  destroy(): void {
    this.request.destroy();
  }
}
