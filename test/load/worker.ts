// Load worker: one process per job, so the clients' CPU and memory are not the server's. Uploads go
// through tus-js-client from streams of deterministic pseudo-random bytes (AES-CTR keystream, hashed
// as they are made, so nothing is kept in memory or on disk); session creation, status, HEAD,
// listing and the live PATCHes during the cleanup sweep are single timed requests over node:http.
// Usage: tsx test/load/worker.ts '<Job as JSON>'.
import { createInterface } from 'node:readline';
import * as tus from 'tus-js-client';
import type {
  CreateJob,
  CreateResult,
  Job,
  JobResult,
  PatcherJob,
  PatcherResult,
  ProbeJob,
  ProbeResult,
  Sample,
  UploadOutcome,
  UploadsJob,
  UploadsResult,
} from './jobs.js';
import { agent, pool, request } from './requests.js';
import { SeededBytes } from './seeded-bytes.js';

function tusUpload(job: UploadsJob, index: number, samples: Sample[]): Promise<UploadOutcome> {
  const source = new SeededBytes(`${job.seed}-${index}`, job.size);
  const started = performance.now();
  const starts = new Map<unknown, { at: number; t: number }>();
  let assetId: string | null = null;
  return new Promise((resolve) => {
    const upload = new tus.Upload(source, {
      endpoint: job.tusUrl,
      uploadSize: job.size,
      chunkSize: job.chunkSize,
      headers: { Authorization: `Bearer ${job.token}` },
      metadata: { filename: `load-${index}.bin`, asset_type: 'other' },
      retryDelays: [],
      storeFingerprintForResuming: false,
      onBeforeRequest(req) {
        starts.set(req, { at: Date.now(), t: performance.now() });
      },
      onAfterResponse(req, res) {
        const start = starts.get(req);
        if (start)
          samples.push({
            type: req.getMethod(),
            at: start.at,
            ms: performance.now() - start.t,
            status: res.getStatus(),
          });
        const id = res.getHeader('Upload-Asset-Id');
        if (id) assetId = id;
      },
      onError(error) {
        resolve({
          index,
          uploadId: upload.url?.split('/').pop() ?? '',
          assetId,
          sha256: '',
          size: job.size,
          ms: performance.now() - started,
          error: error.message,
        });
      },
      onSuccess() {
        resolve({
          index,
          uploadId: upload.url?.split('/').pop() ?? '',
          assetId,
          sha256: source.digest(),
          size: job.size,
          ms: performance.now() - started,
        });
      },
    });
    upload.start();
  });
}

async function runUploads(job: UploadsJob): Promise<UploadsResult> {
  const samples: Sample[] = [];
  const started = Date.now();
  const uploads = await Promise.all(Array.from({ length: job.count }, (_, i) => tusUpload(job, i, samples)));
  const finished = Date.now();
  // what a client resuming or checking on its upload asks afterwards
  const auth = { Authorization: `Bearer ${job.token}` };
  for (const u of uploads) {
    if (!u.uploadId) continue;
    await request(samples, 'HEAD', `${job.tusUrl}/${u.uploadId}`, 'HEAD', { ...auth, 'Tus-Resumable': '1.0.0' });
    await request(samples, 'GET status', `${job.baseUrl}/storage/chunked-upload/${u.uploadId}`, 'GET', auth);
  }
  return { kind: 'uploads', started, finished, uploads, samples };
}

async function runCreate(job: CreateJob): Promise<CreateResult> {
  const samples: Sample[] = [];
  const ids: string[] = [];
  await pool(
    Array.from({ length: job.count }, (_, i) => i),
    job.concurrency,
    async (i) => {
      const reply = await request(samples, 'POST', job.tusUrl, 'POST', {
        Authorization: `Bearer ${job.token}`,
        'Tus-Resumable': '1.0.0',
        'Upload-Length': String(job.length),
        'Upload-Metadata': `filename ${Buffer.from(`many-${i}.bin`).toString('base64')}`,
      });
      const location = reply.headers.location;
      if (reply.status !== 201 || typeof location !== 'string')
        throw new Error(`create ${i}: ${reply.status} ${reply.body}`);
      ids.push(location.split('/').pop() ?? '');
    },
  );
  return { kind: 'create', ids, samples };
}

async function runProbe(job: ProbeJob): Promise<ProbeResult> {
  const samples: Sample[] = [];
  const auth = { Authorization: `Bearer ${job.token}` };
  const plan = Array.from({ length: job.requests }, (_, i) => i);
  await pool(plan, job.concurrency, async (i) => {
    const id = job.ids[(i * 7919) % job.ids.length] ?? '';
    switch (i % 3) {
      case 0:
        await request(
          samples,
          `GET list ${job.label}`,
          `${job.baseUrl}/storage/chunked-upload?${job.lists[i % job.lists.length]}`,
          'GET',
          auth,
        );
        break;
      case 1:
        await request(samples, `GET status ${job.label}`, `${job.baseUrl}/storage/chunked-upload/${id}`, 'GET', auth);
        break;
      default:
        await request(samples, `HEAD ${job.label}`, `${job.tusUrl}/${id}`, 'HEAD', {
          ...auth,
          'Tus-Resumable': '1.0.0',
        });
    }
  });
  return { kind: 'probe', samples };
}

async function runPatcher(job: PatcherJob, stopped: () => boolean): Promise<PatcherResult> {
  const samples: Sample[] = [];
  const uploads: UploadOutcome[] = [];
  const headers = { Authorization: `Bearer ${job.token}`, 'Tus-Resumable': '1.0.0' };
  for (let index = 0; !stopped(); index++) {
    const started = performance.now();
    const { bytes, sha256 } = SeededBytes.buffer(`${job.seed}-${index}`, job.size);
    const created = await request(samples, 'POST', job.tusUrl, 'POST', {
      ...headers,
      'Upload-Length': String(job.size),
      'Upload-Metadata': `filename ${Buffer.from(`live-${index}.bin`).toString('base64')}`,
    });
    const uploadId =
      String(created.headers.location ?? '')
        .split('/')
        .pop() ?? '';
    let assetId: string | null = null;
    let error: string | undefined;
    for (let offset = 0; offset < job.size; ) {
      // once told to stop, the rest goes in one PATCH so the upload still finishes
      const end = stopped() ? job.size : Math.min(job.size, offset + job.piece);
      const reply = await request(
        samples,
        'PATCH',
        `${job.tusUrl}/${uploadId}`,
        'PATCH',
        {
          ...headers,
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Offset': String(offset),
        },
        bytes.subarray(offset, end),
      );
      if (reply.status !== 204) {
        error = `PATCH at ${offset}: ${reply.status} ${reply.body}`;
        break;
      }
      offset = Number(reply.headers['upload-offset']);
      const id = reply.headers['upload-asset-id'];
      if (typeof id === 'string') assetId = id;
    }
    uploads.push({
      index,
      uploadId,
      assetId,
      sha256,
      size: job.size,
      ms: performance.now() - started,
      ...(error ? { error } : {}),
    });
    if (error) break;
  }
  return { kind: 'patcher', samples, uploads };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  let go: () => void = () => {};
  const begun = new Promise<void>((resolve) => {
    go = resolve;
  });
  let stop = false;
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() === 'go') go();
    if (line.trim() === 'stop') stop = true;
  });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await begun;
  let result: JobResult;
  if (job.kind === 'uploads') result = await runUploads(job);
  else if (job.kind === 'create') result = await runCreate(job);
  else if (job.kind === 'probe') result = await runProbe(job);
  else result = await runPatcher(job, () => stop);
  agent.destroy();
  // a pipe takes a large line in several writes: exit only once it is all out
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
