// W6 in the client process: many tus-js-client uploads at once from a few users in small PATCHes
// (the seed's own load test), while a worker thread times HEADs on those same uploads. The HEADs
// run on their own thread so that a client busy pushing bytes does not delay them and charge its
// own event-loop lag to the server. Beside each HEAD the thread times an OPTIONS, which every
// server answers from memory (no database, no lock, no file): its latency is the floor any request
// meets on that server under the load, so a HEAD's excess over it is the HEAD's own cost.
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import * as tus from 'tus-js-client';
import type { LoadJob, LoadResult } from './jobs.js';

const now = () => performance.timeOrigin + performance.now();

interface HeadSample {
  at: number;
  ms: number;
  method: 'HEAD' | 'OPTIONS';
}

// Plain JavaScript, evaluated in the worker: no loader needed there. Open loop: one HEAD every
// interval whether or not earlier ones were answered (at most 32 outstanding), round robin over
// the uploads announced so far. HEADs and OPTIONS keep connections in pools of their own: Node's
// client closes a connection after a HEAD answer that has no Content-Length, so against such a
// server every HEAD opens a new one, and in a shared pool the OPTIONS then queued for a socket
// behind those HEADs and measured them, not the floor.
const HEAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const agents = { HEAD: new http.Agent({ keepAlive: true, maxSockets: 32 }), OPTIONS: new http.Agent({ keepAlive: true, maxSockets: 32 }) };
const targets = [];
const samples = [];
const errors = [];
let next = 0;
let inFlight = 0;
function probe(method, url, headers) {
  const at = performance.timeOrigin + performance.now();
  const started = performance.now();
  inFlight++;
  const req = http.request(url, { method, agent: agents[method], headers: { 'Tus-Resumable': '1.0.0', ...headers } }, (res) => {
    res.resume();
    res.on('end', () => {
      inFlight--;
      samples.push({ at, ms: performance.now() - started, method });
      const expected = method === 'HEAD' ? 200 : 204;
      if (res.statusCode !== expected && errors.length < 20) errors.push(method + ' answered ' + res.statusCode);
    });
  });
  req.on('error', (e) => { inFlight--; if (errors.length < 20) errors.push(method + ': ' + e.message); });
  req.end();
}
const timer = setInterval(() => {
  if (targets.length === 0 || inFlight >= 32) return;
  const target = targets[next++ % targets.length];
  probe('HEAD', target.url, { Authorization: 'Bearer ' + target.token });
  probe('OPTIONS', workerData.endpoint, {});
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m.type === 'target') targets.push(m);
  else if (m.type === 'stop') {
    clearInterval(timer);
    const wait = () => (inFlight > 0 ? setTimeout(wait, 5) : (agents.HEAD.destroy(), agents.OPTIONS.destroy(), parentPort.postMessage({ samples, errors })));
    wait();
  }
});
`;

function loadUpload(job: LoadJob, index: number, token: string, onUrl: (url: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const start = index * job.size;
    const upload = new tus.Upload(createReadStream(job.file, { start, end: start + job.size - 1 }), {
      endpoint: job.endpoint,
      uploadSize: job.size,
      chunkSize: job.chunkSize,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { filename: `load-${index}.bin`, filetype: 'application/octet-stream' },
      retryDelays: [],
      storeFingerprintForResuming: false,
      onUploadUrlAvailable: () => {
        if (upload.url) onUrl(upload.url);
      },
      onError: reject,
      onSuccess: ({ lastResponse }) => {
        if (job.expectAsset && !lastResponse.getHeader('Upload-Asset-Id')) {
          reject(new Error(`upload ${index} finished without Upload-Asset-Id`));
          return;
        }
        resolve(performance.now() - started);
      },
    });
    upload.start();
  });
}

/** Runs W6; `tokenFor(who)` gives the Bearer token of owner `<job.owner>-<who>`. */
export async function runLoad(job: LoadJob, tokenFor: (who: string) => string): Promise<LoadResult> {
  const worker = new Worker(HEAD_WORKER, {
    eval: true,
    workerData: { intervalMs: job.headIntervalMs, endpoint: job.endpoint },
  });
  const startedAt = now();
  const outcomes = await Promise.allSettled(
    Array.from({ length: job.count }, (_, i) => {
      const token = tokenFor(`u${i % job.users}`);
      return loadUpload(job, i, token, (url) => worker.postMessage({ type: 'target', url, token }));
    }),
  );
  const endedAt = now();
  const probed = new Promise<{ samples: HeadSample[]; errors: string[] }>((resolve) => worker.once('message', resolve));
  worker.postMessage({ type: 'stop' });
  const { samples, errors: headErrors } = await probed;
  await worker.terminate();
  const durations: number[] = [];
  const errors: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') durations.push(outcome.value);
    else errors.push(outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason));
  }
  const inWindow = samples.filter((s) => s.at >= startedAt && s.at <= endedAt);
  const heads = inWindow.filter((s) => s.method === 'HEAD').map((s) => s.ms);
  const options = inWindow.filter((s) => s.method === 'OPTIONS').map((s) => s.ms);
  const bytes = durations.length * job.size;
  return { kind: 'load', startedAt, endedAt, durations, bytes, errors, heads, options, headErrors };
}
