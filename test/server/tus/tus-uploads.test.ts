// Whole uploads through tus-js-client (Node) against a real server: sizes around the chunk size,
// the chunk_size metadata and its clamping, X-HTTP-Method-Override, creation-defer-length and
// creation-with-upload. Each checks the asset file and row against the source bytes.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import type { UploadSession } from '../../../db/schema.js';
import { randomFile, readRange, removeDir, sha256, tempDir } from '../../helpers/files.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadFile, tusUploadSource } from '../../helpers/tus.js';
import { uploadIdOf } from '../../helpers/tus-http.js';
import { expectAssetOf } from '../../helpers/uploads.js';

const MiB = 1024 * 1024;

interface SentRequest {
  method: string;
  override: string | undefined;
  offset: string | undefined;
  length: string | undefined;
}

describe('tus uploads with tus-js-client', () => {
  const owner = uniqueOwner('uploads');
  let server: TestServer;
  let dir: string;
  let C: number;

  before(async () => {
    server = await startTestServer();
    dir = await tempDir();
    C = server.config.chunkSize;
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  async function sessionOf(url: string): Promise<UploadSession> {
    const session = await server.sessions.find(uploadIdOf(url));
    if (!session) throw new Error(`no session for ${url}`);
    return session;
  }

  /** The session lists chunks 1..total, each with the sha256 of exactly its region of `file`. */
  async function expectChunks(session: UploadSession, file: string): Promise<void> {
    const size = (await stat(file)).size;
    const total = Math.ceil(size / session.chunkSize);
    expect(session.totalChunks).to.equal(total);
    expect(Object.keys(session.chunks).sort((a, b) => Number(a) - Number(b))).to.deep.equal(
      Array.from({ length: total }, (_, i) => String(i + 1)),
    );
    for (let n = 1; n <= total; n++) {
      const start = (n - 1) * session.chunkSize;
      const region = await readRange(file, start, Math.min(size, start + session.chunkSize));
      expect(session.chunks[String(n)], `sha256 of chunk ${n}`).to.equal(sha256(region));
    }
  }

  async function uploadAndCheck(size: number): Promise<UploadSession> {
    const file = await randomFile(dir, size);
    const result = await tusUploadFile(server.tusUrl, file, { owner });
    expect(result.assetId, 'Upload-Asset-Id header').to.be.a('string');
    await expectAssetOf(server, result.assetId, file);
    const session = await sessionOf(result.url);
    expect(session.status).to.equal('completed');
    expect(session.assetId).to.equal(result.assetId);
    expect(session.uploadOffset).to.equal(size);
    await expectChunks(session, file);
    return session;
  }

  it('uploads an empty (0 B) file', async () => {
    const session = await uploadAndCheck(0);
    expect(session.totalChunks).to.equal(0);
  });

  it('uploads a 1 B file', async () => {
    const session = await uploadAndCheck(1);
    expect(session.totalChunks).to.equal(1);
  });

  it('uploads a file of exactly one chunk (C bytes)', async () => {
    const session = await uploadAndCheck(C);
    expect(session.chunkSize).to.equal(C);
    expect(session.totalChunks).to.equal(1);
  });

  it('uploads a file one byte past a chunk (C + 1 bytes)', async () => {
    const session = await uploadAndCheck(C + 1);
    expect(session.totalChunks).to.equal(2);
  });

  it('uploads a 50 MiB file', async () => {
    const session = await uploadAndCheck(50 * MiB);
    expect(session.totalChunks).to.equal(Math.ceil((50 * MiB) / C));
  });

  describe('chunk_size metadata', () => {
    async function uploadWithChunkSize(asked: number, size: number): Promise<UploadSession> {
      const file = await randomFile(dir, size, `chunked-${asked}-${size}.bin`);
      const result = await tusUploadFile(server.tusUrl, file, {
        owner,
        metadata: { filename: 'chunked.bin', chunk_size: String(asked) },
      });
      await expectAssetOf(server, result.assetId, file);
      const session = await sessionOf(result.url);
      await expectChunks(session, file);
      return session;
    }

    it('gives 6 MiB chunks to a client that asks for 6 MiB', async () => {
      const session = await uploadWithChunkSize(6 * MiB, 12 * MiB + 100);
      expect(session.chunkSize).to.equal(6 * MiB);
      expect(session.totalChunks).to.equal(3);
    });

    it('clamps 1 MiB up to 5 MiB', async () => {
      const session = await uploadWithChunkSize(1 * MiB, 5 * MiB + 1);
      expect(session.chunkSize).to.equal(5 * MiB);
      expect(session.totalChunks).to.equal(2);
    });

    it('clamps 50 MiB down to 20 MiB', async () => {
      const session = await uploadWithChunkSize(50 * MiB, 20 * MiB + 1);
      expect(session.chunkSize).to.equal(20 * MiB);
      expect(session.totalChunks).to.equal(2);
    });
  });

  describe('protocol options of the client', () => {
    function recorder(sent: SentRequest[]) {
      return {
        onBeforeRequest(req: { getMethod(): string; getHeader(name: string): string | undefined }) {
          sent.push({
            method: req.getMethod(),
            override: req.getHeader('X-HTTP-Method-Override'),
            offset: req.getHeader('Upload-Offset'),
            length: req.getHeader('Upload-Length'),
          });
        },
      };
    }

    it('completes an upload sent as POST with X-HTTP-Method-Override: PATCH', async () => {
      const file = await randomFile(dir, 7 * MiB + 3, 'override.bin');
      const sent: SentRequest[] = [];
      const result = await tusUploadFile(server.tusUrl, file, {
        owner,
        overridePatchMethod: true,
        chunkSize: 3 * MiB,
        ...recorder(sent),
      });
      const overridden = sent.filter((r) => r.override === 'PATCH');
      expect(overridden.length, 'requests carrying the override').to.equal(3);
      expect(overridden.every((r) => r.method === 'POST')).to.equal(true);
      await expectAssetOf(server, result.assetId, file);
    });

    it('completes an upload whose length is deferred (creation-defer-length)', async () => {
      const file = await randomFile(dir, 11 * MiB + 5, 'deferred.bin');
      const sent: SentRequest[] = [];
      // a stream of unknown length, as a client piping data it has not seen the end of
      const result = await tusUploadSource(server.tusUrl, createReadStream(file).pipe(new PassThrough()), {
        owner,
        uploadLengthDeferred: true,
        chunkSize: 4 * MiB,
        ...recorder(sent),
      });
      const post = sent.find((r) => r.method === 'POST');
      expect(post?.length, 'no Upload-Length at creation').to.equal(undefined);
      const declared = sent.filter((r) => r.method === 'PATCH' && r.length !== undefined);
      expect(declared.map((r) => r.length)).to.deep.equal([String(11 * MiB + 5)]);
      await expectAssetOf(server, result.assetId, file);
      await expectChunks(await sessionOf(result.url), file);
    });

    it('completes an upload that sends data with the POST (creation-with-upload)', async () => {
      const file = await randomFile(dir, 9 * MiB + 9, 'with-upload.bin');
      let postOffset: string | undefined;
      const result = await tusUploadFile(server.tusUrl, file, {
        owner,
        uploadDataDuringCreation: true,
        chunkSize: 4 * MiB,
        onAfterResponse(req, res) {
          if (req.getMethod() === 'POST') postOffset = res.getHeader('Upload-Offset');
        },
      });
      expect(postOffset, 'Upload-Offset of the POST').to.equal(String(4 * MiB));
      await expectAssetOf(server, result.assetId, file);
      await expectChunks(await sessionOf(result.url), file);
    });
  });
});
