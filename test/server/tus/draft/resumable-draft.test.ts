// The IETF resumable-uploads draft with real clients: tus-js-client uploads and resumes
// byte-identical files with protocol 'ietf-draft-03' and 'ietf-draft-05' and with the default tus
// protocol against the same server; a raw socket sees the 104 before the final answer; a draft
// upload is the same session as any other (REST, owner checks, the sweep).
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import * as tus from 'tus-js-client';
import { sha256 } from '../../../helpers/files.js';
import { socketExchange } from '../../../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../../../helpers/server.js';
import { StorageApi } from '../../../helpers/storage-api.js';
import { tokenFor, uniqueOwner } from '../../../helpers/tokens.js';
import { listFiles } from '../../../helpers/uploads.js';
import { waitFor } from '../../../helpers/wait.js';

const MiB = 1024 * 1024;
type Protocol = 'ietf-draft-03' | 'ietf-draft-05' | 'tus-v1';
// tus-js-client 4.3 takes `protocol` (upload.js checks it) but its type definitions omit it
type ClientOptions = Partial<tus.UploadOptions> & { protocol?: Protocol };

/** Uploads `data`; with `stopAfterFirstChunk`, aborts once the first chunk is acknowledged. */
function upload(
  data: Buffer,
  options: ClientOptions,
  stopAfterFirstChunk = false,
): Promise<{ url: string; assetId: string | null }> {
  let assetId: string | null = null;
  return new Promise((resolve, reject) => {
    const all: ClientOptions = {
      retryDelays: [],
      storeFingerprintForResuming: false,
      chunkSize: 5 * MiB,
      ...options,
      onAfterResponse: (_req, res) => {
        assetId = res.getHeader('Upload-Asset-Id') ?? assetId;
      },
      onError: reject,
      onSuccess: () => resolve({ url: job.url ?? '', assetId }),
      onChunkComplete: () => {
        if (!stopAfterFirstChunk) return;
        void job.abort();
        resolve({ url: job.url ?? '', assetId });
      },
    };
    const job: tus.Upload = new tus.Upload(data, all);
    job.start();
  });
}

describe('resumable uploads draft with real clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.stop();
  });

  for (const protocol of ['ietf-draft-03', 'ietf-draft-05', 'tus-v1'] as Protocol[]) {
    it(`tus-js-client (${protocol}) uploads, is cut off, resumes, and the asset is byte-identical`, async () => {
      const owner = uniqueOwner(protocol);
      const data = randomBytes(12 * MiB + 123);
      const common = {
        endpoint: server.tusUrl,
        protocol,
        headers: { Authorization: `Bearer ${tokenFor(owner)}` },
        metadata: { filename: `${protocol}.bin` },
      };
      const first = await upload(data, common, true);
      expect(first.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}$/);
      const id = first.url.split('/').pop() ?? '';
      expect((await server.sessions.find(id))?.uploadOffset, 'stopped after the first chunk').to.equal(5 * MiB);
      const done = await upload(data, { ...common, uploadUrl: first.url });
      expect(done.url).to.equal(first.url);
      expect(done.assetId).to.be.a('string');
      const asset = await server.assets.find(done.assetId ?? '');
      expect(asset?.sha256).to.equal(sha256(data));
      expect(asset?.size).to.equal(data.length);
    });
  }

  for (const option of ['uploadDataDuringCreation', 'uploadLengthDeferred'] as const) {
    it(`tus-js-client (ietf-draft-05) with ${option}`, async () => {
      const owner = uniqueOwner('draft-options');
      const data = randomBytes(7 * MiB);
      const done = await upload(data, {
        endpoint: server.tusUrl,
        protocol: 'ietf-draft-05',
        [option]: true,
        headers: { Authorization: `Bearer ${tokenFor(owner)}` },
      });
      expect((await server.assets.find(done.assetId ?? ''))?.sha256).to.equal(sha256(data));
    });
  }

  it('sends 104 Upload Resumption Supported before the final answer, as a raw socket sees it', async () => {
    const owner = uniqueOwner('draft-104');
    const request = [
      'POST /files HTTP/1.1',
      'Host: uploads.example.com',
      `Authorization: Bearer ${tokenFor(owner)}`,
      'Upload-Draft-Interop-Version: 8',
      'Upload-Complete: ?0',
      'Upload-Length: 100',
      'Content-Length: 40',
      '',
      '',
    ].join('\r\n');
    const exchange = await socketExchange(server.url, [Buffer.from(request), randomBytes(40)], { untilStatuses: 3 });
    expect(exchange.statuses).to.deep.equal([104, 104, 201]);
    const [announce, progress] = exchange.response.split('\r\n\r\n');
    expect(announce).to.match(/^HTTP\/1\.1 104 Upload Resumption Supported\r\n/);
    expect(announce).to.match(/\r\nLocation: http:\/\/uploads\.example\.com\/files\/[0-9a-f]{32}\r\n/);
    expect(announce).to.match(/\r\nUpload-Limit: max-size=\d+, max-age=\d+/);
    expect(progress).to.match(/\r\nUpload-Offset: 40$/);
  });

  it('is the same session as any other: listed by REST with its URL, owned', async () => {
    const owner = uniqueOwner('draft-rest');
    const api = new StorageApi(server.url, owner);
    const data = randomBytes(3000);
    const created = await fetch(server.tusUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${tokenFor(owner)}`,
        'Upload-Draft-Interop-Version': '8',
        'Upload-Complete': '?0',
        'Upload-Length': '5000',
        'Content-Type': 'image/png',
        'Content-Disposition': 'inline; filename="photo.png"',
      },
      body: data,
    });
    expect(created.status).to.equal(201);
    const url = created.headers.get('location') ?? '';
    const id = url.split('/').pop() ?? '';
    const view = await api.status(id);
    expect(view).to.include({ offset: 3000, file_size: 5000, filename: 'photo.png', content_type: 'image/png' });
    expect(view.upload_url).to.equal(url);
    const stranger = await fetch(url, {
      method: 'HEAD',
      headers: { Authorization: `Bearer ${tokenFor(uniqueOwner('stranger'))}`, 'Upload-Draft-Interop-Version': '8' },
    });
    expect(stranger.status).to.equal(403);
    expect(stranger.headers.get('x-error-type'), 'the error type').to.equal('forbidden');
  });

  it('continues with the draft an upload tus started, and tus sees it finished', async () => {
    const owner = uniqueOwner('tus-then-draft');
    const auth = { Authorization: `Bearer ${tokenFor(owner)}` };
    const data = randomBytes(4000);
    const created = await fetch(server.tusUrl, {
      method: 'POST',
      headers: {
        ...auth,
        'Tus-Resumable': '1.0.0',
        'Upload-Length': '4000',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: data.subarray(0, 1000),
    });
    const url = created.headers.get('location') ?? '';
    const appended = await fetch(url, {
      method: 'PATCH',
      headers: {
        ...auth,
        'Upload-Draft-Interop-Version': '8',
        'Content-Type': 'application/partial-upload',
        'Upload-Offset': '1000',
        'Upload-Complete': '?1',
      },
      body: data.subarray(1000),
    });
    expect(appended.status).to.equal(200);
    const head = await fetch(url, { method: 'HEAD', headers: { ...auth, 'Tus-Resumable': '1.0.0' } });
    expect(head.headers.get('upload-offset')).to.equal('4000');
    const assetId = head.headers.get('upload-asset-id');
    expect(assetId).to.equal(appended.headers.get('upload-asset-id'));
    expect((await server.assets.find(assetId ?? ''))?.sha256).to.equal(sha256(data));
  });

  it('is swept like any session once it received nothing for the session TTL', async () => {
    const short = await startTestServer({ SESSION_TTL: '1s' });
    try {
      const owner = uniqueOwner('draft-sweep');
      const created = await fetch(short.tusUrl, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${tokenFor(owner)}`,
          'Upload-Draft-Interop-Version': '8',
          'Upload-Complete': '?0',
        },
        body: randomBytes(100),
      });
      const id = (created.headers.get('location') ?? '').split('/').pop() ?? '';
      await waitFor(
        async () => (await short.service.expireStale()) > 0 && (await short.sessions.find(id))?.status === 'expired',
        {
          what: 'the sweep to expire the draft upload',
          intervalMs: 100,
        },
      );
      expect(
        (await listFiles(short.dataDir)).filter((f) => f.includes(id)),
        'its data is gone',
      ).to.deep.equal([]);
    } finally {
      await short.stop();
    }
  });
});
