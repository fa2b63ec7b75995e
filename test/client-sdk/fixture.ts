// What the client tests share: a test server behind a throttling proxy, a scratch folder with its
// own resume file, and views of the server's sessions for one owner.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { UploadSession } from '../../db/schema.js';
import { removeDir, tempDir } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { uniqueOwner } from '../helpers/tokens.js';
import { dataFileOf } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';
import { startThrottledProxy, type ThrottledProxy } from './throttled-proxy.js';

export const MiB = 1024 * 1024;

export interface ClientFixture {
  server: TestServer;
  proxy: ThrottledProxy;
  dir: string;
  resumeFile: string;
  /** The tus endpoint through the proxy. */
  endpoint: string;
  stop(): Promise<void>;
}

export async function startClientFixture(env: Record<string, string> = {}): Promise<ClientFixture> {
  const server = await startTestServer({ CHUNK_SIZE: '5MiB', ...env });
  const proxy = await startThrottledProxy(server.url);
  const dir = await tempDir('upload-client-test-');
  return {
    server,
    proxy,
    dir,
    resumeFile: path.join(dir, 'resume.json'),
    endpoint: `${proxy.url}/files`,
    async stop() {
      await proxy.close();
      await server.stop();
      await removeDir(dir);
    },
  };
}

export function freshOwner(): string {
  return uniqueOwner('client');
}

/** The owner's sessions, newest first. */
export function sessionsOf(server: TestServer, owner: string): Promise<UploadSession[]> {
  return server.sessions.listByOwner(owner, { limit: 100, offset: 0 });
}

/** Waits until an unfinished session of the owner has at least `bytes` durably stored; returns it. */
export function waitForOffset(server: TestServer, owner: string, bytes: number): Promise<UploadSession> {
  return waitFor(
    async () =>
      (await sessionsOf(server, owner)).find(
        (s) => s.uploadOffset >= bytes && (s.status === 'initiated' || s.status === 'uploading'),
      ),
    { timeoutMs: 30_000, intervalMs: 25, what: `a session of ${owner} at ${bytes} bytes` },
  );
}

export function dataFileExists(server: TestServer, id: string): boolean {
  return existsSync(dataFileOf(server.dataDir, id));
}
