// Interrupted uploads: a PATCH cut off mid-body, and a server process killed with SIGKILL mid-upload
// and restarted on the same DATA_DIR and database. HEAD never reports more than the client sent,
// and resuming with tus-js-client completes an asset byte-identical to the source.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { AssetRepository } from '../../db/asset-repository.js';
import { type Database, openDatabase } from '../../db/client.js';
import { SessionRepository } from '../../db/session-repository.js';
import { randomFile, readRange, removeDir, tempDir } from '../helpers/files.js';
import { sharedDatabase, startChildServer, startTestServer, type TestServer } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { tusUploadFile } from '../helpers/tus.js';
import { createUpload, headOffset, OpenPatch } from '../helpers/tus-http.js';
import { expectAssetOf } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;
// tus-js-client retries on 423 and 409 (after a fresh HEAD), as a client resuming after a crash
// should: the dead process's lock on the upload may take a moment to be released
const RESUME_RETRIES = [0, 50, 100, 200, 400, 800, 1000, 1000, 2000, 2000];

/** Sends bytes [from, to) of `file` through an open PATCH in 1 MiB pieces. */
async function sendRange(patch: OpenPatch, file: string, from: number, to: number): Promise<void> {
  for (let at = from; at < to; at += MiB) {
    await patch.send(await readRange(file, at, Math.min(to, at + MiB)));
  }
}

describe('resuming interrupted uploads', () => {
  const owner = uniqueOwner('resume');
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeDir(dir);
  });

  describe('a PATCH cut off mid-body', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => {
      await server.stop();
    });

    it('reports an offset within what was sent, then resumes to a byte-identical asset', async () => {
      const C = server.config.chunkSize;
      const size = 3 * C + 12_345;
      const file = await randomFile(dir, size, 'cut-off.bin');
      const { url, id } = await createUpload(server.tusUrl, {
        owner,
        length: size,
        metadata: { filename: 'cut-off.bin' },
      });

      const patch = new OpenPatch(url, 0, size, owner);
      await sendRange(patch, file, 0, C + 3 * MiB);
      // the first chunk is durable and recorded while the request is still open
      await waitFor(async () => ((await server.sessions.find(id))?.uploadOffset ?? 0) > 0, {
        what: 'the first chunk to be recorded',
      });
      patch.destroy();
      const sent = patch.bytesSent;

      const offset = await headOffset(url, owner);
      expect(offset).to.be.greaterThan(0);
      expect(offset).to.be.at.most(sent);
      // the server commits what it received from the cut-off request; once that write is over the
      // offset no longer moves
      await server.service.writes.idle(10_000);
      const settled = await headOffset(url, owner);
      expect(settled).to.be.at.least(offset);
      expect(settled).to.be.at.most(sent);

      const patchOffsets: number[] = [];
      const result = await tusUploadFile(server.tusUrl, file, {
        owner,
        uploadUrl: url,
        onBeforeRequest(req) {
          if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
        },
      });
      expect(patchOffsets[0], 'the resume starts where the server left off').to.equal(settled);
      await expectAssetOf(server, result.assetId, file);
      const session = await server.sessions.find(id);
      expect(session?.status).to.equal('completed');
      expect(Object.keys(session?.chunks ?? {})).to.have.length(4);
    });
  });

  describe('a server killed with SIGKILL mid-upload', () => {
    it('restarts on the same DATA_DIR and database, and the upload resumes byte-identical', async function () {
      this.timeout(120_000);
      const size = 60 * MiB;
      const file = await randomFile(dir, size, 'sigkill.bin');
      const dataDir = await tempDir('upload-test-crash-');
      try {
        const first = await startChildServer(dataDir);
        const { url, id } = await createUpload(first.tusUrl, {
          owner,
          length: size,
          metadata: { filename: 'sigkill.bin' },
        });
        const patch = new OpenPatch(url, 0, size, owner);
        await sendRange(patch, file, 0, 25 * MiB);
        const acknowledged = await waitFor(
          async () => {
            const offset = await headOffset(url, owner);
            return offset > 0 ? offset : undefined;
          },
          { what: 'the child server to record a chunk' },
        );
        await first.kill('SIGKILL');
        patch.destroy();
        const sent = patch.bytesSent;
        expect(sent).to.be.lessThan(size);

        const second = await startChildServer(dataDir);
        let result: Awaited<ReturnType<typeof tusUploadFile>>;
        try {
          const resumeUrl = `${second.tusUrl}/${id}`;
          const offset = await headOffset(resumeUrl, owner);
          expect(offset, 'never more than the client sent').to.be.at.most(sent);
          expect(offset, 'a recorded chunk survives the crash').to.be.at.least(acknowledged);
          result = await tusUploadFile(second.tusUrl, file, {
            owner,
            uploadUrl: resumeUrl,
            retryDelays: RESUME_RETRIES,
          });
        } finally {
          await second.kill('SIGTERM');
        }

        // the child has stopped, so its embedded database (if any) can be opened here
        const own: Database | undefined = process.env.DATABASE_URL
          ? undefined
          : await openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'pglite') });
        try {
          const database = own ?? (await sharedDatabase());
          const view = {
            dataDir,
            sessions: new SessionRepository(database.db),
            assets: new AssetRepository(database.db),
          };
          const asset = await expectAssetOf(view, result.assetId, file);
          const session = await view.sessions.find(id);
          expect(session?.status).to.equal('completed');
          expect(session?.assetId).to.equal(asset.id);
          expect((await stat(path.resolve(dataDir, asset.storagePath))).size).to.equal(size);
        } finally {
          await own?.close();
        }
      } finally {
        await removeDir(dataDir);
      }
    });
  });
});
