// Timed single requests for the load workers over one keep-alive agent, and a small pool that runs
// tasks a given number at a time.

import http from 'node:http';
import type { Sample } from './jobs.js';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over the keep-alive agent, timed from the first byte sent to the whole answer read. */
export function request(
  samples: Sample[],
  type: string,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Reply> {
  const at = Date.now();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          samples.push({ type, at, ms: performance.now() - started, status });
          resolve({ status, headers: res.headers, body: Buffer.concat(parts).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${url}: no answer in 120 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function pool<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) await task(items[i] as T, i);
    }),
  );
}
