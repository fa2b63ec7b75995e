// PostgreSQL out of connection slots ("too many clients", SQLSTATE 53300): the server runs as a role
// whose CONNECTION LIMIT is lowered to what it holds, so every new connection its pools open is
// refused. Requests that need one answer 503 with Retry-After (an outage the client retries), not
// 500, nothing acknowledged is lost, and the upload finishes once the limit is lifted. Needs
// DATABASE_URL (the embedded database has no connections to run out of).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import postgres from 'postgres';
import { loadConfig } from '../../server/config/config.js';
import { type RunningServer, startServer } from '../../server/start.js';
import { removeDir, tempDir } from '../helpers/files.js';
import { TEST_JWT_SECRET, uniqueOwner } from '../helpers/tokens.js';
import { tusUploadSource } from '../helpers/tus.js';
import { createUpload, headOffset, patchUpload, tusRequest } from '../helpers/tus-http.js';
import { expectAssetOf } from '../helpers/uploads.js';

describe('PostgreSQL out of connection slots', () => {
  const databaseUrl = process.env.DATABASE_URL;
  const role = `t_limited_${randomBytes(4).toString('hex')}`;
  const database = `${role}_db`;
  let admin: postgres.Sql | undefined;
  let server: (RunningServer & { tusUrl: string; dataDir: string }) | undefined;

  before(async function () {
    if (!databaseUrl) {
      console.log('      skipped: needs DATABASE_URL (PostgreSQL)');
      this.skip();
    }
    this.timeout(60_000);
    admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`CREATE ROLE ${role} LOGIN`);
      await admin.unsafe(`CREATE DATABASE ${database} OWNER ${role}`);
    } catch (error) {
      console.log(`      skipped: cannot create a role and a database here (${(error as Error).message})`);
      this.skip();
    }
    const url = new URL(databaseUrl);
    url.username = role;
    url.password = '';
    url.pathname = `/${database}`;
    const dataDir = await tempDir('upload-test-saturated-');
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      DATABASE_URL: url.toString(),
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      LOCK_TIMEOUT: '2s',
    });
    const started = await startServer(config);
    server = Object.assign(started, { tusUrl: `${started.url}${config.tusPath}`, dataDir });
  });
  after(async () => {
    await admin?.unsafe(`ALTER ROLE ${role} CONNECTION LIMIT -1`).catch(() => {});
    await server?.close();
    if (server) await removeDir(server.dataDir);
    await admin?.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin?.unsafe(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin?.end();
  });

  it('answers 503 with Retry-After while new connections are refused, then the upload continues (needs DATABASE_URL)', async function () {
    this.timeout(30_000);
    if (!server || !admin) throw new Error('not set up');
    const owner = uniqueOwner('saturated');
    const source = randomBytes(300_000);
    const { url } = await createUpload(server.tusUrl, { owner, length: source.length });
    expect((await patchUpload(url, 0, source.subarray(0, 100_000), { owner })).status).to.equal(204);

    // no new connection for this role from now on: the pools keep only what they hold
    const [held] = await admin`select count(*)::int as n from pg_stat_activity where usename = ${role}`;
    await admin.unsafe(`ALTER ROLE ${role} CONNECTION LIMIT ${held?.n ?? 0}`);
    // enough at once that the pools must open connections they do not have
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? tusRequest('HEAD', url, { owner })
          : tusRequest('POST', server?.tusUrl ?? '', { owner, headers: { 'Upload-Length': '10' } }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(
      statuses.filter((s) => s >= 500 && s !== 503),
      `statuses ${statuses.join(' ')}`,
    ).to.deep.equal([]);
    expect(statuses, 'some requests found no connection').to.include(503);
    for (const reply of replies.filter((r) => r.status === 503)) {
      expect(reply.headers.get('retry-after')).to.equal('5');
    }

    await admin.unsafe(`ALTER ROLE ${role} CONNECTION LIMIT -1`);
    expect(await headOffset(url, owner)).to.equal(100_000);
    const result = await tusUploadSource(server.tusUrl, source, { owner, uploadUrl: url, retryDelays: [0, 200, 500] });
    const dir = await tempDir();
    try {
      const file = path.join(dir, 'source.bin');
      await writeFile(file, source);
      await expectAssetOf(server, result.assetId, file);
    } finally {
      await removeDir(dir);
    }
  });
});
