// A loopback HTTP proxy for client tests: it forwards every request to a test server, can slow
// request bodies down to a chosen rate (so a test can stop an upload half-way on purpose), and
// records each request with the body bytes it passed on and the answer it got.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';

export interface ProxiedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Request body bytes passed on to the server. */
  bodyBytes: number;
  status?: number;
  responseHeaders?: http.IncomingHttpHeaders;
}

export interface ThrottledProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Bytes per second for request bodies, shared by all connections; null: as fast as possible. */
  setRate(bytesPerSecond: number | null): void;
  /** Body bytes of `method` requests recorded from index `from` on. */
  bodyBytes(method: string, from?: number): number;
  /** Answers the next `count` `method` requests with `status` itself, without asking the server. */
  failNext(method: string, status: number, count?: number): void;
  close(): Promise<void>;
}

const PIECE = 64 * 1024;

/** One token bucket for every body: the proxy's total rate, not each request's. */
class RateLimit {
  rate: number | null = null;
  private nextFree = 0;

  async take(bytes: number): Promise<void> {
    if (this.rate === null) return;
    const now = Date.now();
    this.nextFree = Math.max(this.nextFree, now);
    const wait = this.nextFree - now;
    this.nextFree += (bytes / this.rate) * 1000;
    if (wait > 0) await delay(wait);
  }
}

class Throttle extends Transform {
  constructor(
    private readonly limit: RateLimit,
    private readonly counted: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    (async () => {
      for (let at = 0; at < chunk.length; at += PIECE) {
        const piece = chunk.subarray(at, at + PIECE);
        await this.limit.take(piece.length);
        this.push(piece);
        this.counted(piece.length);
      }
    })().then(() => done(), done);
  }
}

export async function startThrottledProxy(target: string): Promise<ThrottledProxy> {
  const upstream = new URL(target);
  const limit = new RateLimit();
  const requests: ProxiedRequest[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const failures: { method: string; status: number }[] = [];
  const server = http.createServer((req, res) => {
    const record: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      bodyBytes: 0,
    };
    requests.push(record);
    const failure = failures.findIndex((f) => f.method === req.method);
    if (failure >= 0) {
      record.status = failures.splice(failure, 1)[0]?.status ?? 500;
      req.resume();
      res.writeHead(record.status, { 'Content-Type': 'text/plain', 'Tus-Resumable': '1.0.0', Connection: 'close' });
      res.end('injected by the test proxy\n');
      return;
    }
    const forward = http.request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    });
    forward.on('response', (answer) => {
      record.status = answer.statusCode;
      record.responseHeaders = answer.headers;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    // the client went away (a reload, a killed process): the server sees the request end early
    req.on('close', () => {
      if (!req.complete) forward.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(new Throttle(limit, (bytes) => (record.bodyBytes += bytes))).pipe(forward);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setRate(bytesPerSecond) {
      limit.rate = bytesPerSecond;
    },
    bodyBytes(method, from = 0) {
      return requests.slice(from).reduce((sum, r) => (r.method === method ? sum + r.bodyBytes : sum), 0);
    },
    failNext(method, status, count = 1) {
      for (let i = 0; i < count; i++) failures.push({ method, status });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
