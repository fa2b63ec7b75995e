// nginx (Debian's package) in front of two instances, configured by docs/examples/nginx-upload.conf:
// a tus-js-client upload is cut off after its first chunk, the instance that took that chunk is
// stopped, and the upload resumes through nginx on the other instance, while its live progress
// streams through nginx too. With nginx saying X-Forwarded-Proto: https (as it does when it
// terminates TLS), the upload URLs are https:// only when TRUST_PROXY names it. Skipped when nginx
// is not installed (apt-get install nginx).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import * as tus from 'tus-js-client';
import type { ProgressEvent } from '../../store/events.js';
import { randomFile, removeDir, sha256, sha256File, tempDir } from '../helpers/files.js';
import { bearer, uniqueOwner } from '../helpers/rest.js';
import { ROOT, startTestServer, startTestServerAt, type TestServer } from '../helpers/server.js';
import { openEventStream } from '../helpers/sse.js';
import { tokenFor } from '../helpers/tokens.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The documented site config, pointed at the test's instances, inside a minimal nginx.conf. */
async function nginxConfig(
  dir: string,
  port: number,
  upstreams: number[],
  edit: (site: string) => string = (s) => s,
): Promise<string> {
  const site = edit(await readFile(path.join(ROOT, 'docs/examples/nginx-upload.conf'), 'utf8'))
    .replace('127.0.0.1:1080', `127.0.0.1:${upstreams[0]}`)
    .replace('127.0.0.1:1081', `127.0.0.1:${upstreams[1]}`)
    .replace('listen 80;', `listen 127.0.0.1:${port};`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`);
  return [
    process.getuid?.() === 0 ? 'user root;' : '',
    'daemon off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 256; }',
    `http { access_log ${dir}/access.log; ${temp.join(' ')}`,
    site,
    '}',
  ].join('\n');
}

/** Uploads `file`; with `stopAfterFirstChunk`, stops (before sending more) once a chunk is stored. */
function upload(file: Buffer, options: Partial<tus.UploadOptions>, stopAfterFirstChunk = false): Promise<tus.Upload> {
  return new Promise((resolve, reject) => {
    const job: tus.Upload = new tus.Upload(file, {
      retryDelays: [],
      storeFingerprintForResuming: false,
      ...options,
      onError: reject,
      onSuccess: () => resolve(job),
      onChunkComplete: () => {
        if (!stopAfterFirstChunk) return;
        // synchronously, so tus-js-client does not start the next PATCH
        void job.abort();
        resolve(job);
      },
    });
    job.start();
  });
}

describe('behind nginx', () => {
  let nginx: ChildProcess | undefined;
  let dir: string;
  const servers: TestServer[] = [];

  before(async function () {
    if (spawnSync('nginx', ['-v']).error) this.skip();
    dir = await tempDir('upload-test-nginx-');
  });
  after(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGTERM');
      await once(nginx, 'exit');
    }
    await Promise.all(servers.map((s) => s.stop().catch(() => {})));
    if (dir) await removeDir(dir);
  });

  it('resumes a tus-js-client upload through the other instance', async () => {
    const shared = path.join(dir, 'data');
    // one DATA_DIR and one database for both, as in production
    const env = { CHUNK_SIZE: '5MiB', ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}) };
    servers.push(await startTestServerAt(shared, env), await startTestServerAt(shared, env));
    const received = servers.map(() => [] as ProgressEvent[]);
    for (const [i, s] of servers.entries()) s.service.events.on('progress', (e) => received[i]?.push(e));

    const port = await freePort();
    await writeFile(
      path.join(dir, 'nginx.conf'),
      await nginxConfig(
        dir,
        port,
        servers.map((s) => s.port),
      ),
    );
    const check = spawnSync('nginx', ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
    expect(check.status, check.stderr).to.equal(0);
    nginx = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
    const proxy = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${proxy}/healthz`).catch(() => undefined))?.ok, { what: 'nginx' });

    const owner = uniqueOwner('nginx');
    const file = await readFile(await randomFile(dir, 12 * MiB));
    const common = {
      endpoint: `${proxy}/files`,
      chunkSize: 5 * MiB,
      headers: { Authorization: `Bearer ${tokenFor(owner)}`, 'X-Request-Id': 'through-nginx' },
      metadata: { filename: 'big.bin' },
    };
    // first part: stop after the first chunk
    const first = await upload(file, common, true);
    const uploadUrl = first.url ?? '';
    expect(uploadUrl.startsWith(`${proxy}/files/`), uploadUrl).to.equal(true);
    const id = uploadUrl.split('/').pop() ?? '';
    const tookFirst = received.findIndex((r) => r.some((e) => e.id === id));
    expect(tookFirst).to.be.oneOf([0, 1]);

    const stream = await openEventStream(`${proxy}/storage/chunked-upload/${id}/events`, bearer(owner));
    await stream.next((e) => e.event === 'progress', 'the first chunk, replayed through nginx');
    await servers[tookFirst]?.close();

    let assetId: string | null = null;
    await upload(file, {
      ...common,
      uploadUrl,
      onAfterResponse: (_req, res) => {
        assetId = res.getHeader('Upload-Asset-Id') ?? assetId;
      },
    });
    const other = received[1 - tookFirst] ?? [];
    expect(other.filter((e) => e.id === id).map((e) => e.offset)).to.deep.equal([10 * MiB, 12 * MiB]);
    const completed = await stream.next((e) => e.event === 'completed', 'completed through nginx');
    expect(completed.data).to.include({ asset_id: assetId, sha256: sha256(file) });
    await stream.waitEnded();
    const asset = await servers[1 - tookFirst]?.assets.find(assetId ?? '');
    expect(asset?.sha256).to.equal(await sha256File(path.join(dir, 'random-12582912.bin')));
  });

  describe('X-Forwarded-Proto: https', () => {
    for (const trusted of [false, true]) {
      it(`gives ${trusted ? 'https' : 'http'}:// upload URLs ${trusted ? 'with' : 'without'} TRUST_PROXY`, async () => {
        const server = await startTestServer({ ...(trusted ? { TRUST_PROXY: 'loopback' } : {}) });
        servers.push(server);
        const port = await freePort();
        const conf = path.join(dir, `tls-${trusted}.conf`);
        // as when nginx terminates TLS: the scheme it forwards is https
        const tls = (site: string) => site.replace('X-Forwarded-Proto $scheme', 'X-Forwarded-Proto https');
        await writeFile(conf, await nginxConfig(dir, port, [server.port, server.port], tls));
        const proxy = spawn('nginx', ['-p', dir, '-c', conf], { stdio: 'ignore' });
        try {
          const base = `http://127.0.0.1:${port}`;
          await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok, { what: 'nginx' });
          const owner = uniqueOwner('forwarded');
          const created = await fetch(`${base}/files`, {
            method: 'POST',
            headers: { ...bearer(owner), 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' },
          });
          const scheme = trusted ? 'https' : 'http';
          expect(created.headers.get('location')).to.match(
            new RegExp(`^${scheme}://127\\.0\\.0\\.1:${port}/files/[0-9a-f]{32}$`),
          );
          const initiated = await fetch(`${base}/storage/chunked-upload`, {
            method: 'POST',
            headers: { ...bearer(owner), 'Content-Type': 'application/json' },
            body: JSON.stringify({ filename: 'a.bin', file_size: 10, asset_type: 'other' }),
          });
          const { upload_url } = (await initiated.json()) as { upload_url: string };
          expect(upload_url.startsWith(`${scheme}://127.0.0.1:${port}/files/`), upload_url).to.equal(true);
        } finally {
          proxy.kill('SIGTERM');
          await once(proxy, 'exit');
        }
      });
    }
  });
});
