// upload-cli as a user runs it: the package's bin as a child process. An upload stopped with
// Ctrl-C (SIGINT) half-way resumes when the same command runs again and sends only the rest, and
// the message says so only when it is true; an empty file uploads; --json output parses; exit codes tell failures apart;
// a server that does not answer is named the same way by every command; downloads do not overwrite
// a file unasked; nothing is written to the home directory when a resume file is configured.
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { type CliRun, runCli } from '../helpers/cli.js';
import { filesEqual, randomFile } from '../helpers/files.js';
import { closedPort } from '../helpers/ports.js';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens.js';
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

/** The home directory the CLI runs with: a scratch one, so a stray write there cannot reach the user's. */
let home = '';

function cli(args: string[], env: Record<string, string>): CliRun {
  return runCli(args, env, home);
}

describe('upload-cli', () => {
  let f: ClientFixture;
  let env: Record<string, string>;
  let owner: string;
  before(async () => {
    f = await startClientFixture();
    home = path.join(f.dir, 'home');
    await mkdir(home);
    owner = freshOwner();
    env = { UPLOAD_URL: f.proxy.url, UPLOAD_TOKEN: tokenFor(owner), UPLOAD_RESUME_FILE: f.resumeFile };
  });
  after(async () => {
    await f.stop();
  });

  it('resumes an upload stopped by Ctrl-C when the same command runs again, sending only the rest', async () => {
    const size = 40 * MiB;
    const file = await randomFile(f.dir, size, 'cli-40.bin');
    const args = ['upload', file, '--chunk-size', '1MiB', '--asset-type', 'video', '--json'];
    f.proxy.setRate(16 * MiB);
    const first = cli(args, env);
    const halfway = await waitForOffset(f.server, owner, size / 2);
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code, stopped.stderr).to.equal(130);
    const interrupted = JSON.parse(stopped.stdout) as { error: string; message: string; bytesSent: number };
    expect(interrupted.error).to.equal('interrupted');
    expect(interrupted.message).to.include('run the same command again to resume');
    expect(await exists(f.resumeFile), 'remembered in the configured resume file').to.equal(true);
    expect(await exists(path.join(home, '.upload-client')), 'nothing in the home directory').to.equal(false);
    const [session] = await sessionsOf(f.server, owner);
    expect(session?.id).to.equal(halfway.id);
    expect(session?.status).to.not.equal('completed');

    f.proxy.setRate(null);
    const from = f.proxy.requests.length;
    const second = await cli(args, env).done;
    expect(second.code, second.stderr).to.equal(0);
    const result = JSON.parse(second.stdout) as {
      assetId: string;
      uploadId: string;
      resumedFrom: number;
      size: number;
    };
    expect(result.uploadId).to.equal(halfway.id);
    expect(result.resumedFrom).to.be.at.least(size / 2);
    const requests = f.proxy.requests.slice(from);
    expect(requests.filter((r) => r.method === 'POST')).to.deep.equal([]);
    const accepted = requests.filter((r) => r.method === 'PATCH' && r.status === 204);
    expect(accepted.reduce((sum, r) => sum + r.bodyBytes, 0)).to.equal(size - result.resumedFrom);
    expect(f.proxy.bodyBytes('PATCH', from), 'the second run sends less than the whole file').to.be.below(size);
    const asset = await expectAssetOf(f.server, result.assetId, file);
    expect(asset.assetType).to.equal('video');
  });

  it('uploads an empty file', async () => {
    const file = await randomFile(f.dir, 0, 'cli-empty.bin');
    const uploaded = await cli(['upload', file, '--json'], env).done;
    expect(uploaded.code, uploaded.stderr).to.equal(0);
    const { assetId, size } = JSON.parse(uploaded.stdout) as { assetId: string; size: number };
    expect(size).to.equal(0);
    await expectAssetOf(f.server, assetId, file);
  });

  it('status, list, download and cancel answer in JSON; token mints one the server accepts', async () => {
    const file = await randomFile(f.dir, 2 * MiB + 1, 'cli-small.bin');
    const minted = await cli(['token', '--sub', owner, '--ttl', '30m', '--json'], { JWT_SECRET: TEST_JWT_SECRET }).done;
    expect(minted.code, minted.stderr).to.equal(0);
    const lifetime = Date.parse((JSON.parse(minted.stdout) as { expiresAt: string }).expiresAt) - Date.now();
    expect(lifetime, '--ttl 30m').to.be.within(29 * 60_000, 30 * 60_000 + 1000);
    const { token } = JSON.parse(minted.stdout) as { token: string };
    const own = { ...env, UPLOAD_TOKEN: token };

    const uploaded = await cli(['upload', file, '--parallel', '2', '--json'], own).done;
    expect(uploaded.code, uploaded.stderr).to.equal(0);
    const { assetId, uploadId } = JSON.parse(uploaded.stdout) as { assetId: string; uploadId: string };

    const status = await cli(['status', uploadId, '--json'], own).done;
    expect(JSON.parse(status.stdout)).to.include({ session_id: uploadId, status: 'completed', asset_id: assetId });
    const list = await cli(['list', '--status', 'completed', '--json'], own).done;
    const ids = (JSON.parse(list.stdout) as { sessions: { session_id: string }[] }).sessions.map((s) => s.session_id);
    expect(ids).to.include(uploadId);

    const out = path.join(f.dir, 'downloaded.bin');
    const downloaded = await cli(['download', assetId, '-o', out, '--json'], own).done;
    expect(JSON.parse(downloaded.stdout)).to.deep.equal({ assetId, file: out, bytes: 2 * MiB + 1 });
    expect(await filesEqual(out, file)).to.equal(true);
    // an existing file is kept unless --force
    await writeFile(out, 'mine');
    const refused = await cli(['download', assetId, '-o', out], own).done;
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.equal(`upload-cli: ${out} exists; pass --force to overwrite it, or -o another file\n`);
    expect(await readFile(out, 'utf8')).to.equal('mine');
    expect((await cli(['download', assetId, '-o', out, '--force'], own).done).code).to.equal(0);
    expect(await filesEqual(out, file)).to.equal(true);

    // a deleted asset leaves the list
    const deleted = await fetch(`${f.server.url}/storage/assets/${assetId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(deleted.status).to.equal(204);
    const after = await cli(['list', '--status', 'completed'], own).done;
    const line = after.stdout.split('\n').find((l) => l.startsWith(uploadId));
    expect(line).to.match(/asset deleted$/);
    expect(after.stdout).to.not.include(assetId);

    // an unfinished upload, cancelled by id: the session is cancelled and its bytes are gone
    f.proxy.setRate(4 * MiB);
    const big = await randomFile(f.dir, 16 * MiB, 'cli-cancel.bin');
    const running = cli(['upload', big, '--chunk-size', '1MiB', '--json'], own);
    const session = await waitForOffset(f.server, owner, MiB);
    running.child.kill('SIGINT');
    expect((await running.done).code).to.equal(130);
    f.proxy.setRate(null);
    const cancelled = await cli(['cancel', session.id, '--json'], own).done;
    expect(JSON.parse(cancelled.stdout)).to.deep.equal({ uploadId: session.id, status: 'cancelled' });
    expect((await f.server.sessions.find(session.id))?.status).to.equal('cancelled');
    expect(dataFileExists(f.server, session.id), 'its bytes are gone').to.equal(false);
  });

  it('exits 2 on usage errors, 3 on a refused token, 4 on an unknown asset, with a JSON error', async () => {
    const usage = await cli(['upload', '--json'], env).done;
    expect(usage.code).to.equal(2);
    expect(JSON.parse(usage.stdout)).to.include({ error: 'usage' });
    const auth = await cli(['list', '--json'], { ...env, UPLOAD_TOKEN: 'nope' }).done;
    expect(auth.code).to.equal(3);
    expect(JSON.parse(auth.stdout)).to.include({ error: 'auth', status: 401 });
    const missing = await cli(['download', '00000000-0000-4000-8000-000000000000', '--json'], env).done;
    expect(missing.code).to.equal(4);
    expect(JSON.parse(missing.stdout)).to.include({ error: 'not_found', status: 404 });
    const help = await cli(['--help'], {}).done;
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('Exit codes');
  });

  it('says why a stopped upload cannot be resumed: --no-resume', async () => {
    f.proxy.setRate(4 * MiB);
    const file = await randomFile(f.dir, 16 * MiB, 'cli-no-resume.bin');
    const from = f.proxy.requests.length;
    const running = cli(['upload', file, '--chunk-size', '1MiB', '--no-resume', '--json'], env);
    const session = await waitForOffset(f.server, owner, MiB);
    // the first MiB rides on the creation: the client knows the upload's URL once it sends a PATCH
    await waitFor(async () => f.proxy.requests.slice(from).some((r) => r.method === 'PATCH'), {
      what: 'the client to send its first PATCH',
    });
    running.child.kill('SIGINT');
    const stopped = await running.done;
    f.proxy.setRate(null);
    expect(stopped.code, stopped.stderr).to.equal(130);
    const interrupted = JSON.parse(stopped.stdout) as { message: string; resumable: boolean };
    expect(interrupted.resumable).to.equal(false);
    expect(interrupted.message).to.not.include('run the same command again to resume');
    expect(interrupted.message).to.include(
      'not remembered for resuming (--no-resume), so the same command starts over',
    );
    expect(interrupted.message).to.include(`upload-cli cancel ${session.id}`);
  });

  it('against a closed port, every command says "cannot connect to", retrying as told, and exits 1', async () => {
    const port = await closedPort();
    const file = await randomFile(f.dir, 3 * MiB, 'cli-nowhere.bin');
    const target = `http://127.0.0.1:${port}`;
    const reason = `cannot connect to ${target} (connection refused)`;
    // the upload retries twice, the others once (the waits are the defaults: 0.5 s, then 1 s)
    const commands = [['upload', file, '--retries', '2'], ['list'], ['status', 'abc'], ['download', 'def', '-o', 'x']];
    for (const args of commands) {
      const run = await cli(
        [...args, '--endpoint', target, ...(args.includes('--retries') ? [] : ['--retries', '1'])],
        env,
      ).done;
      const retries = args[0] === 'upload' ? 2 : 1;
      expect(run.code, args[0]).to.equal(1);
      expect(run.stdout, args[0]).to.equal('');
      expect(run.stderr.split('\n'), args[0]).to.deep.equal([
        `upload-cli: ${reason}, retrying in 0.5 s (attempt 1 of ${retries})`,
        ...(retries === 2 ? [`upload-cli: ${reason}, retrying in 1 s (attempt 2 of 2)`] : []),
        `upload-cli: ${reason}`,
        '',
      ]);
    }
    const json = await cli(['list', '--endpoint', target, '--retries', '0', '--json'], env).done;
    expect(json.code).to.equal(1);
    expect(JSON.parse(json.stdout)).to.deep.equal({ error: 'network', message: reason, status: null });
    expect(json.stderr).to.equal('');
  });
});

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
