// One session, two APIs: a session started by REST is continued by tus-js-client at its
// upload_url and finished by REST chunks; a REST pause stops tus PATCHes with one clear 400 that
// tus-js-client reports without retrying; tus-created uploads are seen and cancelled by REST.
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import * as tus from 'tus-js-client';
import { sha256 } from '../../helpers/files.js';
import { chunkOf, expectError, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { tokenFor } from '../../helpers/tokens.js';
import { tusMetadata, tusPatch, tusSend } from '../../helpers/tus-send.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;

interface TusRun {
  /** Resolves when the upload succeeds, is aborted, or fails (with the error). */
  done: Promise<{ outcome: 'success' | 'aborted' | 'error'; error?: tus.DetailedError | Error }>;
  /** Methods of the requests tus-js-client sent, in order. */
  requests: string[];
  upload: tus.Upload;
}

/**
 * tus-js-client continuing the upload at `uploadUrl` (no endpoint, so it can never create a new
 * one). `stopAfter` aborts from onChunkComplete once that many bytes are acknowledged.
 */
function runTus(
  uploadUrl: string,
  owner: string,
  data: Buffer,
  options: { chunkSize?: number; stopAfter?: number; retryDelays?: number[] } = {},
): TusRun {
  const requests: string[] = [];
  let settle: (value: Awaited<TusRun['done']>) => void = () => {};
  const done = new Promise<Awaited<TusRun['done']>>((resolve) => {
    settle = resolve;
  });
  const upload = new tus.Upload(data, {
    uploadUrl,
    uploadSize: data.length,
    headers: { Authorization: `Bearer ${tokenFor(owner)}` },
    retryDelays: options.retryDelays ?? [0, 10, 20],
    storeFingerprintForResuming: false,
    ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
    onBeforeRequest(req) {
      requests.push(req.getMethod());
    },
    onChunkComplete(_size, accepted) {
      if (options.stopAfter !== undefined && accepted >= options.stopAfter) {
        void upload.abort().then(() => settle({ outcome: 'aborted' }));
      }
    },
    onSuccess: () => settle({ outcome: 'success' }),
    onError: (error) => settle({ outcome: 'error', error }),
  });
  upload.start();
  return { done, requests, upload };
}

describe('one session through REST and tus', () => {
  let server: TestServer;
  let api: StorageApi;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(() => {
    api = new StorageApi(server.url, uniqueOwner('carol'));
  });

  it('REST start, half by tus-js-client, REST pause and resume, REST chunks to the end: byte-identical', async () => {
    // 5 chunks of 5 MiB and a short sixth; tus sends 4 MiB PATCHes, so it stops inside a chunk
    const data = randomBytes(5 * C + 123_457);
    const total = 6;
    const created = await api.initiate({ filename: 'mixed.bin', file_size: data.length, chunk_size: C });
    expect(created.total_chunks).to.equal(total);

    const half = Math.ceil(data.length / 2);
    const run = runTus(created.upload_url, api.owner ?? '', data, { chunkSize: 4 * MiB, stopAfter: half });
    const result = await run.done;
    expect(result.outcome, String(result.error)).to.equal('aborted');
    expect(run.requests[0]).to.equal('HEAD');
    expect(run.requests.slice(1).every((m) => m === 'PATCH')).to.equal(true);

    const tusOffset = Number((await tusSend('HEAD', created.upload_url, api.owner)).headers.get('upload-offset'));
    expect(tusOffset).to.be.at.least(half);
    expect(tusOffset).to.be.below(data.length);
    expect(tusOffset % C, 'the tus bytes end inside a chunk').to.not.equal(0);

    const paused = await api.action(created.session_id, 'pause');
    expect(paused.status).to.equal('paused');
    expect(paused.offset).to.equal(tusOffset);
    const recorded = paused.uploaded_chunks;
    expect(recorded).to.deep.equal(Array.from({ length: Math.floor(tusOffset / C) }, (_, i) => i + 1));
    expect(paused.missing_chunks).to.deep.equal(
      Array.from({ length: total - recorded.length }, (_, i) => recorded.length + i + 1),
    );

    expect((await api.action(created.session_id, 'resume')).status).to.equal('uploading');
    // the first missing chunk is partly covered by tus bytes; it must be accepted whole
    for (const n of paused.missing_chunks) await api.chunk(created.session_id, n, chunkOf(data, n, C));
    const view = await api.status(created.session_id);
    expect(view.uploaded_chunks).to.deep.equal(Array.from({ length: total }, (_, i) => i + 1));
    expect(view.offset).to.equal(data.length);

    const asset = await api.complete(created.session_id);
    expect(asset).to.include({ size: data.length, sha256: sha256(data), filename: 'mixed.bin' });
    const download = await api.download(asset.asset_id);
    expect(download.bytes.equals(data), 'downloaded bytes equal the source').to.equal(true);
  });

  it('a REST pause makes the next tus PATCH fail with one 400 that tus-js-client reports without retrying', async () => {
    const data = randomBytes(2 * C + 999);
    const created = await api.initiate({ filename: 'paused.bin', file_size: data.length, chunk_size: C });
    await api.chunk(created.session_id, 1, chunkOf(data, 1, C));
    await api.action(created.session_id, 'pause');

    const run = runTus(created.upload_url, api.owner ?? '', data, { retryDelays: [0, 10, 20, 40] });
    const result = await run.done;
    expect(result.outcome).to.equal('error');
    const error = result.error as tus.DetailedError;
    expect(error.originalResponse?.getStatus()).to.equal(400);
    expect(error.originalResponse?.getHeader('X-Error-Type'), 'the error type').to.equal('invalid_state');
    expect(error.originalResponse?.getBody()).to.match(/paused/);
    expect(run.requests, 'one HEAD, one PATCH, no retries').to.deep.equal(['HEAD', 'PATCH']);

    const head = await tusSend('HEAD', created.upload_url, api.owner);
    expect(head.headers.get('upload-offset'), 'offset unchanged').to.equal(String(C));
    const view = await api.status(created.session_id);
    expect(view).to.include({ status: 'paused', offset: C });
    expect(view.uploaded_chunks).to.deep.equal([1]);

    // a raw PATCH says the same
    const patch = await tusPatch(created.upload_url, api.owner ?? '', C, chunkOf(data, 2, C));
    expect(patch.status).to.equal(400);
    expect(patch.headers.get('x-error-type'), 'the error type').to.equal('invalid_state');
    expect(patch.text).to.match(/paused/);

    // once resumed, tus-js-client finishes it and the finish hook makes the asset
    await api.action(created.session_id, 'resume');
    const again = runTus(created.upload_url, api.owner ?? '', data);
    expect((await again.done).outcome).to.equal('success');
    const done = await api.status(created.session_id);
    expect(done.status).to.equal('completed');
    const asset = await api.asset(done.asset_id ?? '');
    expect(asset.sha256).to.equal(sha256(data));
  });

  it('shows a tus-created upload in the REST status and list, and cancels it by REST', async () => {
    const owner = api.owner ?? '';
    const create = await tusSend('POST', server.tusUrl, owner, {
      'Upload-Length': String(C + 10),
      'Upload-Metadata': tusMetadata({ filename: 'by-tus.bin', asset_type: 'audio', chunk_size: String(C) }),
    });
    expect(create.status, create.text).to.equal(201);
    const url = new URL(create.headers.get('location') ?? '', server.tusUrl).toString();
    const id = url.split('/').pop() ?? '';
    const data = randomBytes(C + 10);
    expect((await tusPatch(url, owner, 0, data.subarray(0, C + 5))).status).to.equal(204);

    const view = await api.status(id);
    expect(view).to.include({ filename: 'by-tus.bin', asset_type: 'audio', offset: C + 5, total_chunks: 2 });
    expect(view.uploaded_chunks).to.deep.equal([1]);
    expect(view.missing_chunks).to.deep.equal([2]);
    expect(view.upload_url).to.equal(url);
    expect((await api.list()).sessions.map((s) => s.session_id)).to.deep.equal([id]);

    await api.action(id, 'cancel');
    expect((await tusSend('HEAD', url, owner)).status).to.be.oneOf([404, 410]);
    const gone = await access(path.join(server.dataDir, 'uploads', id)).then(
      () => false,
      () => true,
    );
    expect(gone, 'data file removed').to.equal(true);
  });

  it('tus DELETE of a REST-created session cancels it; REST then reports it cancelled', async () => {
    const created = await api.initiate({ file_size: 100 });
    const del = await tusSend('DELETE', created.upload_url, api.owner);
    expect(del.status).to.equal(204);
    expect((await api.status(created.session_id)).status).to.equal('cancelled');
    expectError(await api.actionRaw(created.session_id, 'resume'), 400, 'invalid_state');
  });
});
