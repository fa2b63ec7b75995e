// The durability promise under group commit: many uploads in flight share each sync-and-record
// batch, and a SIGKILL of the server in the middle of that must still leave every session row at
// or below the bytes its file holds, with every recorded chunk digest matching the stored bytes.
// After a restart every upload resumes and ends byte-identical.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { removeDir, sha256, tempDir } from '../helpers/files.js';
import { Random, testSeed } from '../helpers/random.js';
import { type ChildServer, startChildServer } from '../helpers/server.js';
import { StorageApi } from '../helpers/storage-api.js';
import { withStorageView } from '../helpers/storage-view.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { tusUploadSource } from '../helpers/tus.js';
import { createUpload, headOffset } from '../helpers/tus-http.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const C = 5 * MiB;
const UPLOADS = 24;
const OWNERS = 4;
const ENV = { CHUNK_SIZE: '5MiB', LOCK_TIMEOUT: '5s' };
// after the kill the dead process's locks may take a moment to go (PostgreSQL): retry 423 and 409
const RETRIES = [0, 100, 200, 400, 800, 1000, 2000];

interface InFlight {
  id: string;
  url: string;
  owner: string;
  source: Buffer;
}

describe('SIGKILL with many uploads in flight under group commit', () => {
  let dataDir: string;
  let server: ChildServer | undefined;
  before(async () => {
    dataDir = await tempDir('upload-test-group-commit-');
  });
  after(async () => {
    await server?.kill('SIGKILL');
    await removeDir(dataDir);
  });

  it('keeps every offset within the stored bytes and every chunk digest true, and all uploads finish', async function () {
    this.timeout(180_000);
    const seed = testSeed(0x19_0019);
    const random = new Random(seed);
    server = await startChildServer(dataDir, ENV);
    const owners = Array.from({ length: OWNERS }, (_, i) => uniqueOwner(`group-${i}`));
    const uploads: InFlight[] = [];
    for (let i = 0; i < UPLOADS; i++) {
      const owner = owners[i % OWNERS] ?? '';
      const source = random.bytes(random.int(2 * C, 3 * C));
      const { url, id } = await createUpload(server.tusUrl, { owner, length: source.length });
      uploads.push({ id, url, owner, source });
    }
    const total = uploads.reduce((sum, u) => sum + u.source.length, 0);
    // 1 MiB PATCHes, as Uppy users send them: many small commits from many uploads at once
    const running = uploads.map((u) =>
      tusUploadSource(server?.tusUrl ?? '', u.source, { owner: u.owner, uploadUrl: u.url, chunkSize: MiB }),
    );
    for (const r of running) r.catch(() => {});
    const first = server;
    await waitFor(
      async () => {
        const offsets = await Promise.all(uploads.map((u) => headOffset(u.url, u.owner)));
        const moved = offsets.reduce((sum, o) => sum + o, 0);
        return moved >= total / 3 && offsets.some((o, i) => o < (uploads[i]?.source.length ?? 0));
      },
      { timeoutMs: 90_000, intervalMs: 50, what: 'a third of the bytes recorded, some uploads unfinished' },
    );
    await first.kill('SIGKILL');
    await Promise.allSettled(running);

    // with the server dead, its rows against its files
    let unfinished = 0;
    let checkedChunks = 0;
    await withStorageView(dataDir, async (view) => {
      for (const u of uploads) {
        const row = await view.sessions.find(u.id);
        expect(row, u.id).to.not.equal(undefined);
        if (!row || row.status === 'completed') continue;
        unfinished++;
        const file = path.join(dataDir, 'uploads', u.id);
        const held = (await stat(file)).size;
        expect(row.uploadOffset, `${u.id}: recorded offset within the file`).to.be.at.most(held);
        const bytes = await readFile(file);
        expect(bytes.subarray(0, row.uploadOffset).equals(u.source.subarray(0, row.uploadOffset)), u.id).to.equal(true);
        for (const [n, digest] of Object.entries(row.chunks)) {
          const start = (Number(n) - 1) * C;
          const end = Math.min(start + C, u.source.length);
          expect(sha256(bytes.subarray(start, end)), `${u.id} chunk ${n} as stored`).to.equal(digest);
          expect(sha256(u.source.subarray(start, end)), `${u.id} chunk ${n} as sent`).to.equal(digest);
          checkedChunks++;
        }
      }
    });
    expect(unfinished, 'the kill landed with uploads in flight').to.be.greaterThan(0);
    expect(checkedChunks, 'chunk digests were recorded before the kill').to.be.greaterThan(0);

    server = await startChildServer(dataDir, ENV);
    const restarted = server;
    for (const u of uploads) {
      const url = `${restarted.tusUrl}/${u.id}`;
      const file = path.join(dataDir, 'uploads', u.id);
      const held = await stat(file).then(
        (s) => s.size,
        () => u.source.length,
      );
      expect(await headOffset(url, u.owner), `${u.id}: HEAD within the stored bytes`).to.be.at.most(held);
    }
    const finished = await Promise.all(
      uploads.map((u) =>
        tusUploadSource(restarted.tusUrl, u.source, {
          owner: u.owner,
          uploadUrl: `${restarted.tusUrl}/${u.id}`,
          chunkSize: MiB,
          retryDelays: RETRIES,
        }),
      ),
    );
    for (const [i, u] of uploads.entries()) {
      const api = new StorageApi(restarted.url, u.owner);
      const assetId = finished[i]?.assetId ?? (await api.status(u.id)).asset_id;
      expect(assetId, u.id).to.be.a('string');
      const download = await api.download(assetId ?? '');
      expect(download.status, u.id).to.equal(200);
      expect(sha256(download.bytes), `${u.id}: byte-identical`).to.equal(sha256(u.source));
    }
  });
});
