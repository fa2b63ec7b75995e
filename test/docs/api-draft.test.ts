// The curl commands for a draft -11 upload in docs/API.md ("A draft -11 upload with curl"), run as
// they are shown: create with Upload-Complete: ?0, append twice, HEAD in between, against a live
// server; the asset must be the file.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files.js';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.js';
import { tokenFor } from '../helpers/tokens.js';

const run = promisify(execFile);

/** The first ```sh block after the marker comment in docs/API.md. */
async function documentedScript(): Promise<string> {
  const api = await readFile(path.join(ROOT, 'docs/API.md'), 'utf8');
  const after = api.split('<!-- draft-11-curl -->')[1];
  const block = after ? /```sh\n([\s\S]*?)\n```/.exec(after)?.[1] : undefined;
  if (!block) throw new Error('docs/API.md has no ```sh block after <!-- draft-11-curl -->');
  return block;
}

describe('docs/API.md: a draft -11 upload with curl', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  it('creates with Upload-Complete: ?0, appends twice with a HEAD between, and makes the asset', async () => {
    const file = await randomFile(dir, 3_000_001, 'draft example.bin');
    const owner = `docs-draft-${randomUUID()}`;
    const { stdout } = await run('bash', ['-c', `set -euo pipefail\n${await documentedScript()}`], {
      cwd: dir,
      env: { ...process.env, TUS_URL: server.tusUrl, TOKEN: tokenFor(owner), FILE: file },
    });
    const statuses = [...stdout.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
    // 104 and 201 (create); 104 and 204 (first append); 204 (HEAD); [100,] 104 and 200 (last append)
    expect(statuses.filter((s) => s !== 100)).to.deep.equal([104, 201, 104, 204, 204, 104, 200]);
    expect(stdout).to.match(/^Upload-Offset: 1000000\r?$/m);
    const assetId = /^asset_id=(.+)$/m.exec(stdout)?.[1] ?? '';
    const asset = await server.assets.find(assetId);
    expect(asset?.ownerId).to.equal(owner);
    expect(asset?.filename).to.equal('draft example.bin');
    expect(asset?.size).to.equal(3_000_001);
    expect(asset?.sha256).to.equal(await sha256File(file));
  });
});
