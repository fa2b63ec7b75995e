// Shared by the hostile-input tests: the routes that take an id, a server on a DATA_DIR alone in a
// fresh directory, and the check that nothing was written outside DATA_DIR.
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../../helpers/files.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { listFiles } from '../../helpers/uploads.js';

export const TUS = { 'Tus-Resumable': '1.0.0' };
export const PATCH_HEADERS = { ...TUS, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' };

/** Every route that takes an id in its path, as [method, path, extra headers, body]. */
export function idRoutes(id: string): [string, string, Record<string, string>, Buffer?][] {
  return [
    ['GET', `/storage/chunked-upload/${id}`, {}],
    ['POST', `/storage/chunked-upload/${id}/chunk?chunk_number=1`, {}, Buffer.from('x')],
    ['POST', `/storage/chunked-upload/${id}/complete`, {}],
    ['POST', `/storage/chunked-upload/${id}/pause`, {}],
    ['POST', `/storage/chunked-upload/${id}/resume`, {}],
    ['POST', `/storage/chunked-upload/${id}/cancel`, {}],
    ['GET', `/storage/chunked-upload/${id}/events`, {}],
    ['GET', `/storage/assets/${id}`, {}],
    ['GET', `/storage/assets/${id}/download`, { Range: 'bytes=0-9' }],
    ['DELETE', `/storage/assets/${id}`, {}],
    ['HEAD', `/files/${id}`, TUS],
    ['PATCH', `/files/${id}`, PATCH_HEADERS, Buffer.from('x')],
    ['DELETE', `/files/${id}`, TUS],
    ['GET', `/files/${id}`, TUS],
  ];
}

export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

// a name no test writes on purpose: finding it anywhere means a path escaped
export const marker = `escaped-${randomBytes(6).toString('hex')}`;

/** A server on DATA_DIR `parent`/data, `parent` being a fresh directory holding nothing else. */
export async function startHostileServer(): Promise<{ parent: string; dataDir: string; server: TestServer }> {
  const parent = await tempDir('upload-test-hostile-');
  const dataDir = path.join(parent, 'data');
  await mkdir(dataDir);
  const server = await startTestServerAt(dataDir, { CHUNK_SIZE: '5MiB' });
  return { parent, dataDir, server };
}

/** Nothing beside DATA_DIR, nothing in it but its own entries, no marker anywhere reachable. */
export async function expectNothingOutsideDataDir(parent: string, dataDir: string): Promise<void> {
  expect(await readdir(parent)).to.deep.equal(['data']);
  const top = await readdir(dataDir);
  expect(top.filter((name) => !['uploads', 'assets', 'pglite', 'jwt-secret'].includes(name))).to.deep.equal([]);
  for (const dir of [parent, path.dirname(parent), os.tmpdir(), '/', '/etc', '/tmp']) {
    expect(await exists(path.join(dir, marker)), `${dir}/${marker}`).to.equal(false);
  }
  const everything = await listFiles(dataDir);
  expect(everything.filter((f) => f.includes(marker) && !f.startsWith(`assets${path.sep}`))).to.deep.equal([]);
  for (const file of everything.filter((f) => f.startsWith(`assets${path.sep}`))) {
    // assets/{owner}/{asset id}/{one file name}
    expect(file.split(path.sep), file).to.have.length(4);
  }
}

export function expect4xx(status: number, what: string): void {
  expect(status, what).to.be.within(400, 499);
}
