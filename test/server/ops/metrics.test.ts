// GET /metrics: counters and gauges move with an upload, a failed PATCH and a cleanup sweep; the
// session gauges, read from the database, agree across a restart; METRICS_TOKEN protects the route.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { removeDir, tempDir } from '../../helpers/files.js';
import { startTestServer, startTestServerAt, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { createUpload, patchUpload } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';

/** Prometheus text exposition: `name{labels} value` lines into a map keyed by `name{labels}`. */
type Samples = Map<string, number>;

async function scrape(server: TestServer, token?: string): Promise<Samples> {
  const res = await fetch(`${server.url}/metrics`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  expect(res.status).to.equal(200);
  const samples: Samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

function value(samples: Samples, key: string): number {
  return samples.get(key) ?? 0;
}

function delta(before: Samples, after: Samples, key: string): number {
  return value(after, key) - value(before, key);
}

function sessionGauges(samples: Samples): Record<string, number> {
  return Object.fromEntries([...samples].filter(([key]) => key.startsWith('upload_sessions{')));
}

describe('metrics', () => {
  let server: TestServer;
  let dataDir: string;

  before(async () => {
    dataDir = await tempDir('upload-test-metrics-');
    server = await startTestServerAt(dataDir, { SESSION_TTL: '1s', ORPHAN_GRACE: '1ms', CHUNK_SIZE: '5MiB' });
  });
  after(async () => {
    await server.close();
    await removeDir(dataDir);
  });

  it('counts a finished upload: outcome, bytes, durations, requests and the completed gauge', async () => {
    const owner = uniqueOwner('metrics');
    const body = randomBytes(6 * 1024 * 1024 + 3);
    const before = await scrape(server);
    const { url } = await createUpload(server.tusUrl, { owner, length: body.length });
    const patch = await patchUpload(url, 0, body, { owner });
    expect(patch.status, patch.body).to.equal(204);
    const after = await scrape(server);

    expect(delta(before, after, 'uploads_total{outcome="completed"}')).to.equal(1);
    expect(delta(before, after, 'upload_bytes_received_total')).to.equal(body.length);
    expect(delta(before, after, 'upload_finalize_duration_seconds_count')).to.equal(1);
    expect(delta(before, after, 'upload_duration_seconds_count')).to.equal(1);
    expect(delta(before, after, 'upload_sessions{status="completed"}')).to.equal(1);
    expect(delta(before, after, 'http_requests_total{method="PATCH",status="204",api="tus"}')).to.equal(1);
    expect(delta(before, after, 'http_requests_total{method="POST",status="201",api="tus"}')).to.equal(1);
    expect(value(after, 'upload_patches_in_flight')).to.equal(0);
    expect(value(after, 'process_resident_memory_bytes')).to.be.greaterThan(0);
  });

  it('counts a refused PATCH by its error type', async () => {
    const owner = uniqueOwner('metrics');
    const { url } = await createUpload(server.tusUrl, { owner, length: 10 });
    const before = await scrape(server);
    const wrong = await patchUpload(url, 5, Buffer.alloc(5), { owner });
    expect(wrong.status).to.equal(409);
    expect(wrong.headers.get('x-error-type'), 'the error type').to.equal('offset_conflict');
    const after = await scrape(server);
    expect(delta(before, after, 'upload_chunk_errors_total{reason="offset_conflict"}')).to.equal(1);
    expect(delta(before, after, 'http_requests_total{method="PATCH",status="409",api="tus"}')).to.equal(1);
  });

  it('reports a cleanup sweep: duration, expired sessions and the expired gauge', async () => {
    const owner = uniqueOwner('metrics');
    const { id } = await createUpload(server.tusUrl, { owner, length: 100 });
    await waitFor(async () => ((await server.sessions.find(id))?.expiresAt.getTime() ?? 0) < Date.now(), {
      what: 'the session to pass its TTL',
    });
    const before = await scrape(server);
    const report = await server.cleanup();
    const after = await scrape(server);
    expect(report?.expired).to.be.at.least(1);
    expect(delta(before, after, 'upload_cleanup_duration_seconds_count')).to.equal(1);
    expect(delta(before, after, 'upload_cleanup_removed_total{kind="expired_sessions"}')).to.equal(report?.expired);
    expect(delta(before, after, 'uploads_total{outcome="expired"}')).to.equal(report?.expired);
    expect(delta(before, after, 'upload_sessions{status="expired"}')).to.equal(report?.expired);
    expect((await server.sessions.find(id))?.status).to.equal('expired');
  });

  it('reads the session gauges from the database, so they agree after a restart', async () => {
    const before = sessionGauges(await scrape(server));
    expect(Object.keys(before)).to.have.length.greaterThan(0);
    await server.close();
    server = await startTestServerAt(dataDir, { SESSION_TTL: '1s', ORPHAN_GRACE: '1ms', CHUNK_SIZE: '5MiB' });
    expect(sessionGauges(await scrape(server))).to.deep.equal(before);
  });

  describe('with METRICS_TOKEN', () => {
    const token = 'metrics-token-0123456789';
    let guarded: TestServer;
    before(async () => {
      guarded = await startTestServer({ METRICS_TOKEN: token });
    });
    after(async () => {
      await guarded.stop();
    });

    it('answers 401 without the token or with another one, and the metrics with it', async () => {
      const none = await fetch(`${guarded.url}/metrics`);
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.equal('Bearer');
      expect(((await none.json()) as { error: string }).error).to.equal('unauthorized');
      const wrong = await fetch(`${guarded.url}/metrics`, {
        headers: { Authorization: 'Bearer not-the-token-at-all' },
      });
      expect(wrong.status).to.equal(401);
      expect(wrong.headers.get('x-error-type'), 'the error type').to.equal('unauthorized');
      const samples = await scrape(guarded, token);
      expect(samples.has('upload_bytes_received_total')).to.equal(true);
    });
  });
});
