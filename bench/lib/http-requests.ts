// Plain node:http requests for the precisely timed parts of the benchmark client (W4 and W5): one
// request with its status, headers, the start of its body and its duration, and the tus POST and
// PATCH built on it.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Job } from './jobs.js';

export function metadataHeader(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first 500 characters of the body, for error messages. */
  body: string;
  ms: number;
}

export function request(
  agent: http.Agent,
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: Buffer | Readable,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method, headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        if (body.length < 500) body += text;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: body.trim(),
          ms: performance.now() - started,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

export function tusHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}`, ...extra };
}

export async function createUpload(
  agent: http.Agent,
  job: Job,
  token: string,
  length: number,
  name: string,
): Promise<Reply & { url: string }> {
  const reply = await request(
    agent,
    'POST',
    job.endpoint,
    tusHeaders(token, {
      'Upload-Length': String(length),
      'Upload-Metadata': metadataHeader({ filename: name, filetype: 'application/octet-stream' }),
    }),
  );
  const location = reply.headers.location;
  if (reply.status !== 201 || !location) throw new Error(`POST answered ${reply.status}: ${reply.body}`);
  return { ...reply, url: new URL(location, job.endpoint).toString() };
}

export function patch(
  agent: http.Agent,
  token: string,
  url: string,
  offset: number,
  body: Buffer | Readable,
  length: number,
) {
  return request(
    agent,
    'PATCH',
    url,
    tusHeaders(token, {
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
      'Content-Length': String(length),
    }),
    body,
  );
}
