// The first start of an embedded database: initdb runs in a child process, so the server's own
// WebAssembly heaps hold only PostgreSQL (in process, initdb's would stay for the life of the
// process); an existing database is opened as it is; a failure names the directory.
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { openDatabase } from '../../db/client.js';
import { initPgliteDir } from '../../db/pglite-init.js';
import { removeDir, tempDir } from '../helpers/files.js';

const MB = 1e6;

describe('creating the embedded database', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('upload-test-pglite-init-');
  });
  afterEach(async () => {
    await removeDir(dir);
  });

  it('runs initdb outside this process, and the database it made opens and answers', async () => {
    const dataDir = path.join(dir, 'pglite');
    const external = process.memoryUsage().external;
    await initPgliteDir(dataDir);
    // in process, initdb leaves about 660 MB of WebAssembly memory behind
    expect(process.memoryUsage().external - external, 'memory initdb left in this process').to.be.below(100 * MB);
    const made = await stat(path.join(dataDir, 'PG_VERSION'));

    await initPgliteDir(dataDir);
    expect((await stat(path.join(dataDir, 'PG_VERSION'))).mtimeMs, 'an existing database is kept').to.equal(
      made.mtimeMs,
    );
    const database = await openDatabase({ kind: 'pglite', dataDir });
    try {
      await database.migrate();
      await database.ping();
    } finally {
      await database.close();
    }
  });

  it('says which directory it could not create the database in', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const dataDir = path.join(file, 'pglite');
    const error = await initPgliteDir(dataDir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.include(`creating the embedded database in ${dataDir} failed`);
  });
});
