// Stopping and continuing uploads with the SDK: abort and resume from another upload() call or
// another process (only the rest is sent), pause and resume, a stream resumed by its fingerprint,
// a token refreshed after a 401, and cancel leaving nothing on the server.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import { type Progress, type UploadClientError, upload } from '../../client-sdk/index.js';
import { prepareNodeSource } from '../../client-sdk/node/source.js';
import { JsonFileUrlStorage } from '../../client-sdk/node/url-storage.js';
import { randomFile } from '../helpers/files.js';
import { ROOT } from '../helpers/server.js';
import { tokenFor } from '../helpers/tokens.js';
import { expectAssetOf } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';
import {
  type ClientFixture,
  dataFileExists,
  freshOwner,
  MiB,
  sessionsOf,
  startClientFixture,
  waitForOffset,
} from './fixture.js';

describe('client-sdk: stopping and resuming', () => {
  let f: ClientFixture;
  before(async () => {
    f = await startClientFixture();
  });
  after(async () => {
    await f.stop();
  });
  beforeEach(() => {
    f.proxy.setRate(null);
  });

  const options = (owner: string) => ({
    endpoint: f.endpoint,
    token: tokenFor(owner),
    resumeFile: f.resumeFile,
    chunkSize: MiB,
    retryDelays: [0, 50, 100],
  });

  /** Checks that requests from `from` on resumed `uploadId` and sent exactly the rest. */
  function expectOnlyTheRest(from: number, size: number, resumedFrom: number): void {
    const requests = f.proxy.requests.slice(from);
    expect(
      requests.filter((r) => r.method === 'POST'),
      'no new upload was created',
    ).to.deep.equal([]);
    const accepted = requests.filter((r) => r.method === 'PATCH' && r.status === 204);
    expect(accepted.reduce((sum, r) => sum + r.bodyBytes, 0)).to.equal(size - resumedFrom);
    expect(resumedFrom).to.be.greaterThan(0);
    expect(f.proxy.bodyBytes('PATCH', from), 'less than the whole file').to.be.below(size);
  }

  it('aborted through its AbortSignal, an upload is resumed by the next upload() call, which sends only the rest', async () => {
    const owner = freshOwner();
    const size = 16 * MiB;
    const file = await randomFile(f.dir, size, 'abort.bin');
    f.proxy.setRate(12 * MiB);
    const controller = new AbortController();
    const first = upload(file, {
      ...options(owner),
      signal: controller.signal,
      onProgress: (p) => {
        if ((p.percent ?? 0) >= 50) controller.abort();
      },
    });
    const error = await first.catch((e: unknown) => e as UploadClientError);
    expect(error).to.include({ kind: 'aborted', resumable: true });
    expect((error as UploadClientError).message).to.include('running it again continues');
    const [session] = await sessionsOf(f.server, owner);
    expect(session?.status).to.not.equal('completed');
    const before = session?.uploadOffset ?? 0;
    expect(before).to.be.greaterThan(0);

    f.proxy.setRate(null);
    const from = f.proxy.requests.length;
    const result = await upload(file, options(owner));
    expect(result.uploadId).to.equal(session?.id);
    expect(result.resumedFrom).to.be.at.least(before);
    expectOnlyTheRest(from, size, result.resumedFrom);
    await expectAssetOf(f.server, result.assetId, file);
  });

  it('stopped while its creating request is under way, it says running it again starts over', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 24 * MiB, 'stopped-creating.bin');
    // the whole file rides on the creating POST, slowly
    f.proxy.setRate(4 * MiB);
    const controller = new AbortController();
    const task = upload(file, { ...options(owner), chunkSize: 32 * MiB, signal: controller.signal });
    await waitFor(async () => (await sessionsOf(f.server, owner)).length > 0, { what: 'the creation under way' });
    controller.abort();
    const error = (await task.catch((e: unknown) => e)) as UploadClientError;
    expect(error).to.include({ kind: 'aborted', resumable: false });
    expect(error.message).to.include('the server had not accepted it yet, so running it again starts over');
    const { fingerprint } = await prepareNodeSource(file, { endpoint: f.endpoint });
    const remembered = await new JsonFileUrlStorage(f.resumeFile).findUploadsByFingerprint(fingerprint ?? '');
    expect(remembered, 'nothing remembered').to.deep.equal([]);
    // and the server cancelled the creation it had begun: there is nothing to resume
    await waitFor(async () => (await sessionsOf(f.server, owner)).every((s) => s.status === 'cancelled'), {
      what: 'the creation cancelled',
    });
  });

  it('resumes in a new process an upload whose process was killed, sending only the rest', async () => {
    const owner = freshOwner();
    const size = 24 * MiB;
    const file = await randomFile(f.dir, size, 'killed.bin');
    const resumeFile = path.join(f.dir, 'killed-resume.json');
    f.proxy.setRate(16 * MiB);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'test/client-sdk/upload-child.ts'),
        f.endpoint,
        tokenFor(owner),
        file,
        resumeFile,
        String(MiB),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = once(child, 'exit');
    await waitForOffset(f.server, owner, 8 * MiB);
    child.kill('SIGKILL');
    await exited;

    f.proxy.setRate(null);
    const from = f.proxy.requests.length;
    const result = await upload(file, { ...options(owner), resumeFile });
    expect(result.resumedFrom).to.be.at.least(8 * MiB);
    expectOnlyTheRest(from, size, result.resumedFrom);
    await expectAssetOf(f.server, result.assetId, file);
    expect(await new JsonFileUrlStorage(resumeFile).findAllUploads(), 'forgotten once done').to.deep.equal([]);
  });

  it('resumes a stream given a fingerprint, skipping what the server has', async () => {
    const owner = freshOwner();
    const size = 8 * MiB + 7;
    const file = await randomFile(f.dir, size, 'stream-resume.bin');
    f.proxy.setRate(8 * MiB);
    const controller = new AbortController();
    const streamOptions = { ...options(owner), size, fingerprint: 'stream-resume-test' };
    const error = await upload(createReadStream(file), {
      ...streamOptions,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytesSent >= 3 * MiB) controller.abort();
      },
    }).catch((e: unknown) => e as UploadClientError);
    expect(error).to.include({ kind: 'aborted' });

    f.proxy.setRate(null);
    const from = f.proxy.requests.length;
    const result = await upload(createReadStream(file), streamOptions);
    expectOnlyTheRest(from, size, result.resumedFrom);
    await expectAssetOf(f.server, result.assetId, file);
  });

  it('finds the asset of an upload that completed before its process could forget it', async () => {
    const owner = freshOwner();
    const size = 3 * MiB + 1;
    const file = await randomFile(f.dir, size, 'completed-earlier.bin');
    const first = await upload(file, options(owner));
    // as if the process died after the last byte but before it forgot the upload
    const { fingerprint } = await prepareNodeSource(file, { endpoint: f.endpoint });
    await new JsonFileUrlStorage(f.resumeFile).addUpload(fingerprint ?? '', {
      size,
      metadata: {},
      creationTime: new Date().toString(),
      uploadUrl: first.url,
      parallelUploadUrls: null,
      urlStorageKey: '',
    });
    const from = f.proxy.requests.length;
    const again = await upload(file, options(owner));
    expect(again).to.deep.include({ assetId: first.assetId, uploadId: first.uploadId, resumedFrom: size });
    // HEAD names the asset of a completed upload: one GET, for the asset itself
    expect(f.proxy.requests.slice(from).map((r) => r.method)).to.deep.equal(['HEAD', 'GET']);
  });

  it('pause() stops sending and resume() continues the same upload', async () => {
    const owner = freshOwner();
    const size = 12 * MiB;
    const file = await randomFile(f.dir, size, 'pause.bin');
    f.proxy.setRate(12 * MiB);
    let paused: Promise<void> | undefined;
    const progress: Progress[] = [];
    const task = upload(file, {
      ...options(owner),
      onProgress: (p) => {
        progress.push(p);
        if (!paused && p.bytesSent >= 3 * MiB) paused = task.pause();
      },
    });
    await waitForOffset(f.server, owner, 2 * MiB);
    await delay(400);
    await paused;
    const sentWhilePaused = f.proxy.bodyBytes('PATCH');
    await delay(400);
    expect(f.proxy.bodyBytes('PATCH'), 'nothing is sent while paused').to.equal(sentWhilePaused);
    f.proxy.setRate(null);
    task.resume();
    const result = await task;
    expect(task.url).to.equal(result.url);
    expect((await sessionsOf(f.server, owner)).length, 'one upload, continued').to.equal(1);
    await expectAssetOf(f.server, result.assetId, file);
  });

  it('asks getToken() again after a 401 and carries on', async () => {
    const owner = freshOwner();
    const file = await randomFile(f.dir, 3 * MiB, 'refresh.bin');
    for (const source of [file, await import('node:fs/promises').then((fs) => fs.readFile(file))]) {
      let calls = 0;
      const result = await upload(source, {
        ...options(owner),
        token: undefined,
        getToken: async () => {
          calls += 1;
          // the first token has expired already
          return calls === 1 ? tokenFor(owner, { expiresIn: -60 }) : tokenFor(owner);
        },
      });
      expect(calls).to.equal(2);
      await expectAssetOf(f.server, result.assetId, file);
    }
  });

  it('a fixed token that is refused fails at once with kind auth', async () => {
    const file = await randomFile(f.dir, 1024, 'refused.bin');
    const from = f.proxy.requests.length;
    const error = await upload(file, { ...options('x'), token: 'not-a-jwt' }).catch(
      (e: unknown) => e as UploadClientError,
    );
    expect(error).to.include({ kind: 'auth', status: 401 });
    expect(f.proxy.requests.length - from, 'not retried').to.equal(1);
  });

  it('cancel() terminates the upload: the session is cancelled, its bytes and fingerprint are gone', async () => {
    for (const parallelUploads of [1, 3]) {
      const owner = freshOwner();
      const file = await randomFile(f.dir, 12 * MiB, `cancel-${parallelUploads}.bin`);
      f.proxy.setRate(8 * MiB);
      const task = upload(file, { ...options(owner), parallelUploads });
      await waitForOffset(f.server, owner, MiB);
      await task.cancel();
      const error = await task.catch((e: unknown) => e as UploadClientError);
      expect(error).to.include({ kind: 'cancelled' });

      const sessions = await sessionsOf(f.server, owner);
      const mine = sessions.filter((s) => s.status !== 'cancelled' || dataFileExists(f.server, s.id));
      expect(
        mine.map((s) => [s.status, s.uploadOffset]),
        'nothing left',
      ).to.deep.equal([]);
      expect(sessions.length, 'the upload or its parts').to.equal(parallelUploads);
      expect(await new JsonFileUrlStorage(f.resumeFile).findAllUploads()).to.deep.equal([]);
    }
  });
});
