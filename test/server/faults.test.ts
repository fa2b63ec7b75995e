// Outages: a full disk (a small tmpfs as DATA_DIR) answers 507 with a clear message and keeps the
// offset at the last durable byte, and the upload resumes once space is freed; an unreachable
// PostgreSQL (behind a TCP proxy the test closes) answers 503 and fails /readyz, loses nothing on
// disk, and the upload continues when the database is back.
import { execFile } from 'node:child_process';
import { rm, rmdir, statfs, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { loadConfig } from '../../server/config/config.js';
import { type RunningServer, startServer } from '../../server/start.js';
import { randomFile, readRange, removeDir, tempDir } from '../helpers/files.js';
import { readBody } from '../helpers/integrity.js';
import { startTestServerAt, type TestServer } from '../helpers/server.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { TEST_JWT_SECRET, tokenFor, uniqueOwner } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { createUpload, headOffset, OpenPatch, patchUpload, tusRequest } from '../helpers/tus-http.js';
import { dataFileOf, expectAssetOf, snapshotUpload } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const C = 5 * MiB;

describe('faults', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeDir(dir);
  });

  describe('disk full', () => {
    let mountPoint: string | undefined;
    let server: TestServer | undefined;

    before(async function () {
      const target = await tempDir('upload-test-tmpfs-');
      try {
        await run('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', target]);
      } catch (error) {
        await rmdir(target);
        const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
        console.log(`      skipped: cannot mount a tmpfs here (${reason})`);
        this.skip();
      }
      mountPoint = target;
      // the database is the shared one, not on the small file system
      server = await startTestServerAt(mountPoint, { CHUNK_SIZE: '5MiB' });
    });
    after(async () => {
      await server?.close();
      if (mountPoint) {
        await run('umount', [mountPoint]);
        await rmdir(mountPoint);
      }
    });

    it('answers 507 when the disk fills, keeps the last durable offset, and resumes once space is freed', async function () {
      this.timeout(30_000);
      if (!server || !mountPoint) throw new Error('not set up');
      const owner = uniqueOwner('disk-full');
      const size = 2 * C;
      const file = await randomFile(dir, size, 'disk-full.bin');

      // leave room for the first chunk and a bit, not for the whole upload
      const free = async () => {
        const fs = await statfs(mountPoint ?? '');
        return fs.bavail * fs.bsize;
      };
      const filler = `${mountPoint}/filler`;
      await writeFile(filler, Buffer.alloc((await free()) - (C + 3 * MiB), 1));
      expect(await free()).to.be.below(size);

      const { url, id } = await createUpload(server.tusUrl, {
        owner,
        length: size,
        metadata: { filename: 'full.bin' },
      });
      // a write failing while the request waits for more of its body must not become an
      // unhandled rejection (which ends a server process)
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      let outcome: { status: number | undefined; body: string; type?: string | string[] | undefined };
      try {
        const patch = new OpenPatch(url, 0, size, owner);
        const answer = patch.response.then(
          async (res) => ({ status: res.statusCode, body: await readBody(res), type: res.headers['x-error-type'] }),
          (error: Error) => ({ status: undefined, body: error.message }),
        );
        for (let at = 0; at < size - MiB; at += MiB) await patch.send(await readRange(file, at, at + MiB));
        // the body pauses while the server's write runs out of space
        await waitFor(async () => (await free()) < 64 * 1024, { what: 'the file system to fill up' });
        // the first chunk is synced and recorded a moment after its bytes hit the disk
        const midRequest = await waitFor(
          async () => {
            const offset = await headOffset(url, owner);
            expect(offset, 'never more than the bytes that fit').to.be.at.most(C);
            return offset === C ? offset : undefined;
          },
          { what: 'the first chunk to be recorded' },
        );
        expect(midRequest, 'mid-request, the offset is the last durable byte').to.equal(C);
        await patch.send(await readRange(file, size - MiB, size)).catch(() => {});
        outcome = await answer;
        patch.destroy();
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled, 'unhandled rejections').to.deep.equal([]);
      expect(outcome.status, outcome.body).to.equal(507);
      expect(outcome.type, 'the error type').to.equal('insufficient_storage');
      expect(outcome.body).to.match(/disk space/);
      const offset = await headOffset(url, owner);
      expect(offset, 'the first chunk fitted and is durable').to.equal(C);
      const snapshot = await snapshotUpload(server, id);
      expect(snapshot.offset).to.equal(C);
      expect(Object.keys(snapshot.chunks)).to.deep.equal(['1']);
      expect(await readRange(dataFileOf(mountPoint, id), 0, C)).to.deep.equal(await readRange(file, 0, C));

      // still full: another attempt gets 507 again and changes nothing
      const again = await patchUpload(url, C, await readRange(file, C, size), { owner });
      expect(again.status, again.body).to.equal(507);
      expect(again.headers.get('x-error-type'), 'the error type').to.equal('insufficient_storage');
      expect(await headOffset(url, owner)).to.equal(C);
      // a load balancer sees this instance is not ready for more
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).to.equal(503);
      expect(((await ready.json()) as { message: string }).message).to.match(/almost full/);

      await rm(filler);
      const result = await tusUploadFile(server.tusUrl, file, { owner, uploadUrl: url });
      await expectAssetOf(server, result.assetId, file);
      expect((await server.sessions.find(id))?.status).to.equal('completed');
    });
  });

  describe('database down', () => {
    const databaseUrl = process.env.DATABASE_URL;
    let proxy: TcpProxy | undefined;
    let server: (RunningServer & { tusUrl: string; dataDir: string }) | undefined;

    before(async function () {
      if (!databaseUrl) {
        console.log('      skipped: needs DATABASE_URL (PostgreSQL)');
        this.skip();
      }
      const target = new URL(databaseUrl);
      proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
      await proxy.open();
      const viaProxy = new URL(databaseUrl);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const dataDir = await tempDir('upload-test-dbdown-');
      const config = loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DATABASE_URL: viaProxy.toString(),
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        CHUNK_SIZE: '5MiB',
        LOCK_TIMEOUT: '2s',
      });
      const started = await startServer(config);
      server = Object.assign(started, { tusUrl: `${started.url}${config.tusPath}`, dataDir });
    });
    after(async () => {
      await proxy?.open().catch(() => {});
      await server?.close();
      await proxy?.close();
      if (server) await removeDir(server.dataDir);
    });

    it('answers 503 (unavailable) and fails /readyz while PostgreSQL is unreachable, then the upload continues (needs DATABASE_URL)', async function () {
      this.timeout(30_000);
      if (!server || !proxy) throw new Error('not set up');
      const owner = uniqueOwner('db-down');
      const size = 2 * C + 1234;
      const file = await randomFile(dir, size, 'db-down.bin');
      const { url, id } = await createUpload(server.tusUrl, { owner, length: size, metadata: { filename: 'db.bin' } });
      const first = await patchUpload(url, 0, await readRange(file, 0, C + MiB), { owner });
      expect(first.status, first.body).to.equal(204);
      expect((await fetch(`${server.url}/readyz`)).status).to.equal(200);
      const before = await snapshotUpload(server, id);

      await proxy.close();
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).to.equal(503);
      expect(await ready.json()).to.include({ error: 'unavailable' });
      const head = await tusRequest('HEAD', url, { owner });
      expect(head.status).to.equal(503);
      expect(head.headers.get('x-error-type'), 'the error type').to.equal('unavailable');
      const patch = await patchUpload(url, C + MiB, await readRange(file, C + MiB, size), { owner });
      expect(patch.status, patch.body).to.equal(503);
      expect(patch.headers.get('x-error-type'), 'the error type').to.equal('unavailable');
      expect(patch.body).to.match(/database/);
      const rest = await fetch(`${server.url}/storage/chunked-upload/${id}`, {
        headers: { Authorization: `Bearer ${tokenFor(owner)}` },
      });
      expect(rest.status).to.equal(503);
      expect(await rest.json()).to.include({ error: 'unavailable' });

      await proxy.open();
      await waitFor(async () => (await fetch(`${server?.url}/readyz`)).status === 200, {
        what: '/readyz to recover',
      });
      const after = await snapshotUpload(server, id);
      expect(after.offset, 'nothing acknowledged was lost').to.equal(before.offset);
      expect(after.chunks).to.deep.equal(before.chunks);
      expect(await headOffset(url, owner)).to.equal(C + MiB);

      const result = await tusUploadFile(server.tusUrl, file, {
        owner,
        uploadUrl: url,
        retryDelays: [0, 200, 500, 1000],
      });
      await expectAssetOf(server, result.assetId, file);
    });
  });
});
