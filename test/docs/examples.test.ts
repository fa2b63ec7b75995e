// The examples in docs/examples, run as they are shown: the curl script under bash and the
// tus-js-client script under node, each against a live server.
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
const CURL_SCRIPT = path.join(ROOT, 'docs/examples/curl-upload.sh');
const NODE_SCRIPT = path.join(ROOT, 'docs/examples/tus-upload.mjs');
// odd, so the halves differ, and longer than one 5 MiB chunk, so the second PATCH crosses a boundary
const FILE_SIZE = 7 * 1024 * 1024 + 5;
// an owner of its own, so uploads by other tests sharing the database do not count against its limits
const OWNER = `docs-${randomUUID()}`;

/** The value of a `name=value` line the example printed. */
function field(output: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, 'm').exec(output);
  if (!match?.[1]) throw new Error(`no ${name}= line in the output:\n${output}`);
  return match[1];
}

describe('docs/examples', () => {
  let server: TestServer;
  let dir: string;
  let file: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB' });
    dir = await tempDir();
    file = await randomFile(dir, FILE_SIZE, 'example upload.bin');
    env = { ...process.env, TUS_URL: server.tusUrl, TOKEN: tokenFor(OWNER) };
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  it('curl-upload.sh uploads in two PATCHes, resuming from the offset HEAD reports', async () => {
    const { stdout } = await run('bash', [CURL_SCRIPT], { cwd: ROOT, env: { ...env, FILE: file } });
    expect(field(stdout, 'upload_url')).to.match(new RegExp(`^${server.tusUrl}/[A-Za-z0-9_-]+$`));
    expect(Number(field(stdout, 'offset_after_first_patch'))).to.equal(Math.floor(FILE_SIZE / 2));
    expect(Number(field(stdout, 'final_offset'))).to.equal(FILE_SIZE);

    const asset = await server.assets.find(field(stdout, 'asset_id'));
    expect(asset, 'asset row').to.not.equal(undefined);
    expect(asset?.ownerId).to.equal(OWNER);
    expect(asset?.filename).to.equal('example upload.bin');
    expect(asset?.size).to.equal(FILE_SIZE);
    expect(asset?.sha256).to.equal(await sha256File(file));
    const stored = await readFile(path.join(server.dataDir, asset?.storagePath ?? ''));
    expect(stored.equals(await readFile(file))).to.equal(true);
  });

  it('curl-upload.sh stops with a message when TOKEN or FILE is missing', async () => {
    const { TOKEN: _token, ...noToken } = env;
    const error = await run('bash', [CURL_SCRIPT], { cwd: ROOT, env: { ...noToken, FILE: file } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; stderr?: string },
    );
    expect(error?.code).to.not.equal(0);
    expect(error?.stderr).to.include('TOKEN');
  });

  it('tus-upload.mjs uploads with tus-js-client, reports progress and prints the asset id', async () => {
    const { stdout } = await run(process.execPath, [NODE_SCRIPT, file], { cwd: ROOT, env });
    const percents = [...stdout.matchAll(/^progress=(\d+)%$/gm)].map((m) => Number(m[1]));
    expect(percents.length).to.be.greaterThan(1);
    expect(percents).to.deep.equal([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).to.equal(100);

    const asset = await server.assets.find(field(stdout, 'asset_id'));
    expect(asset, 'asset row').to.not.equal(undefined);
    expect(asset?.ownerId).to.equal(OWNER);
    expect(asset?.size).to.equal(FILE_SIZE);
    expect(asset?.sha256).to.equal(await sha256File(file));
  });
});
