// The fuzz test's requests: what a generated request and its reply look like, the state a refused
// request must leave as it was, and sending a request exactly as written over node:http.
import http from 'node:http';

export const MiB = 1024 * 1024;
export const C = 5 * MiB;

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The upload session the request aims at, when it names a known one. */
  target?: string;
}

export interface FuzzReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a refused request must leave as it was. */
export interface SessionState {
  status: string;
  offset: number;
  length: number | null;
  chunks: string;
  assetId: string | null;
  metadata: string;
  filename: string;
  /** sha256 of the data file's bytes up to the recorded offset (null: no data file). */
  prefix: string | null;
}

/** Sends one request as written, reading at most 64 KiB of the answer (an event stream never ends). */
export function send(baseUrl: string, request: FuzzRequest): Promise<FuzzReply | 'unsendable'> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: hostname,
        port: Number(port),
        method: request.method,
        path: request.path,
        agent: false,
        headers: request.body ? { ...request.headers, 'Content-Length': String(request.body.length) } : request.headers,
      });
    } catch {
      // a header value Node itself refuses to send (CR, LF, NUL): nothing reaches the server
      resolve('unsendable');
      return;
    }
    req.setTimeout(15_000, () => req.destroy(new Error(`${request.method} ${request.path}: no answer in 15 s`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      const done = () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') });
        req.destroy();
      };
      res.on('data', (d: Buffer) => {
        parts.push(d);
        size += d.length;
        if (size > 64 * 1024) done();
      });
      res.on('end', done);
      res.on('error', done);
      // an event stream stays open: its first bytes are enough
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) done();
    });
    req.end(request.body);
  });
}
