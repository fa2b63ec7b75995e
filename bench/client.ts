// Benchmark client, one process per workload so its CPU is not charged to the server process.
// Uploads go through tus-js-client (W1-W3); the latency probe (W4) and the finalising measurement
// (W5) need single, precisely timed requests that tus-js-client does not expose, so they use plain
// node:http with a keep-alive agent. Usage: tsx bench/client.ts '<Job as JSON>'; prints one JSON
// line (a JobResult) on stdout.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import jwt from 'jsonwebtoken';
import * as tus from 'tus-js-client';
import { createUpload, metadataHeader, patch, request, tusHeaders } from './lib/http-requests.js';
import type {
  FinaliseJob,
  FinaliseMeasurement,
  FinaliseResult,
  Job,
  JobResult,
  ProbeJob,
  ProbeResult,
  ProbeSample,
  UploadJob,
  UploadResult,
} from './lib/jobs.js';
import { runLoad } from './lib/load-client.js';
import { median } from './lib/stats.js';

const ASSET_HEADER = 'upload-asset-id';
const now = () => performance.timeOrigin + performance.now();

const tokens = new Map<string, string>();

/** A Bearer token for owner `<job.owner>-<who>`. */
function tokenFor(job: Job, who: string): string {
  const sub = `${job.owner}-${who}`;
  let token = tokens.get(sub);
  if (!token) {
    token = jwt.sign({ sub }, job.secret, { algorithm: 'HS256', expiresIn: '24h' });
    tokens.set(sub, token);
  }
  return token;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- W1-W3: tus-js-client ----

function tusUpload(job: UploadJob, index: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const start = index * job.size;
    const upload = new tus.Upload(createReadStream(job.file, { start, end: start + job.size - 1 }), {
      endpoint: job.endpoint,
      uploadSize: job.size,
      chunkSize: job.chunkSize ?? Number.POSITIVE_INFINITY,
      headers: { Authorization: `Bearer ${tokenFor(job, `u${index}`)}` },
      metadata: { filename: `bench-${index}.bin`, filetype: 'application/octet-stream' },
      retryDelays: [],
      storeFingerprintForResuming: false,
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

async function runUploads(job: UploadJob): Promise<UploadResult> {
  const startedAt = now();
  const outcomes = await Promise.allSettled(Array.from({ length: job.count }, (_, i) => tusUpload(job, i)));
  const endedAt = now();
  const durations: number[] = [];
  const errors: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') durations.push(outcome.value);
    else errors.push(message(outcome.reason));
  }
  return { kind: 'upload', startedAt, endedAt, durations, bytes: durations.length * job.size, errors };
}

// ---- W4 ----

async function runProbe(job: ProbeJob): Promise<ProbeResult> {
  // Open loop: a HEAD and a POST are sent every intervalMs whether or not earlier ones have been
  // answered, so a slow server gets more samples, not fewer (no coordinated omission).
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.maxInFlight * 2 });
  const samples: ProbeSample[] = [];
  const errors: string[] = [];
  const stopped = new Promise<void>((resolve) => {
    process.stdin.on('data', () => {});
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
  });
  const headToken = tokenFor(job, 'head');
  const target = await createUpload(agent, job, headToken, 1024 * 1024, 'probe-head.bin');
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const inFlight = new Set<Promise<void>>();
  let skipped = 0;
  let n = 0;
  const fire = (method: 'HEAD' | 'POST') => {
    if (inFlight.size >= job.maxInFlight * 2) {
      skipped++;
      return;
    }
    const at = now();
    const sent =
      method === 'HEAD'
        ? request(agent, 'HEAD', target.url, tusHeaders(headToken))
        : request(
            agent,
            'POST',
            job.endpoint,
            tusHeaders(tokenFor(job, `p${n}`), {
              'Upload-Length': String(1024 * 1024),
              'Upload-Metadata': metadataHeader({ filename: `probe-${n++}.bin` }),
            }),
          );
    const done = sent.then(
      (reply) => {
        samples.push({ method, at, ms: reply.ms, status: reply.status });
        const expected = method === 'HEAD' ? 200 : 201;
        if (reply.status !== expected && errors.length < 100) {
          errors.push(`${method} answered ${reply.status}: ${reply.body.slice(0, 200)}`);
        }
      },
      (error: unknown) => {
        if (errors.length < 100) errors.push(`${method}: ${message(error)}`);
      },
    );
    inFlight.add(done);
    done.finally(() => inFlight.delete(done));
  };
  const timer = setInterval(() => {
    fire('HEAD');
    setTimeout(() => fire('POST'), job.intervalMs / 2);
  }, job.intervalMs);
  await stopped;
  clearInterval(timer);
  await Promise.all([...inFlight]);
  agent.destroy();
  return { kind: 'probe', samples, skipped, errors };
}

// ---- W5 ----

async function finaliseOnce(
  agent: http.Agent,
  job: FinaliseJob,
  size: number,
  who: string,
): Promise<FinaliseMeasurement> {
  const token = tokenFor(job, who);
  const lone = job.baseline + 1;
  if (size < lone) throw new Error(`size ${size} is below ${lone} bytes`);
  const bulk = size - lone;
  const input = await open(job.file, 'r');
  const tail = Buffer.alloc(lone);
  try {
    await input.read(tail, 0, lone, bulk);
  } finally {
    await input.close();
  }
  const { url } = await createUpload(agent, job, token, size, `finalise-${size}.bin`);
  if (bulk > 0) {
    const reply = await patch(agent, token, url, 0, createReadStream(job.file, { start: 0, end: bulk - 1 }), bulk);
    if (reply.status !== 204) throw new Error(`bulk PATCH answered ${reply.status}: ${reply.body}`);
  }
  const baselineMs: number[] = [];
  for (let i = 0; i < job.baseline; i++) {
    const reply = await patch(agent, token, url, bulk + i, tail.subarray(i, i + 1), 1);
    if (reply.status !== 204) throw new Error(`1-byte PATCH answered ${reply.status}: ${reply.body}`);
    if (reply.headers[ASSET_HEADER]) throw new Error('an unfinished upload answered with an asset id');
    baselineMs.push(reply.ms);
  }
  const last = await patch(agent, token, url, size - 1, tail.subarray(job.baseline), 1);
  if (last.status !== 204) throw new Error(`final PATCH answered ${last.status}: ${last.body}`);
  if (job.expectAsset && !last.headers[ASSET_HEADER]) throw new Error('final PATCH without Upload-Asset-Id');
  const base = median(baselineMs) ?? 0;
  const uploadId = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
  return { size, uploadId, baselineMs, finalMs: last.ms, finaliseMs: last.ms - base };
}

async function runFinalise(job: FinaliseJob): Promise<FinaliseResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const measurements: FinaliseMeasurement[] = [];
  const errors: string[] = [];
  for (const [i, size] of job.sizes.entries()) {
    for (let r = 0; r < (job.repeats[i] ?? 1); r++) {
      try {
        measurements.push(await finaliseOnce(agent, job, size, `f${size}-${r}`));
      } catch (error) {
        errors.push(`${size} bytes: ${message(error)}`);
      }
    }
  }
  agent.destroy();
  return { kind: 'finalise', measurements, errors };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  let result: JobResult;
  if (job.kind === 'upload') result = await runUploads(job);
  else if (job.kind === 'probe') result = await runProbe(job);
  else if (job.kind === 'finalise') result = await runFinalise(job);
  else if (job.kind === 'load') result = await runLoad(job, (who) => tokenFor(job, who));
  else throw new Error(`unknown job ${JSON.stringify(job)}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
