// A data directory bound to its database, case by case, through real server starts: a fresh pair
// is bound to one identity and found again; an installation from before identities is bound at
// its next start, unless it is switched to PostgreSQL while its embedded database has rows; an
// empty DATA_DIR joins a database another instance bound, one with files does not; a DATA_DIR
// pointed at another PostgreSQL database is refused with one line naming both (password hidden).
// The PostgreSQL cases need DATABASE_URL (they make databases of their own beside it).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { openDatabase } from '../../../db/client.js';
import { IdentityRepository } from '../../../db/identity-repository.js';
import { dataIdentity } from '../../../db/schema.js';
import { StartRefusedError } from '../../../db/start-refused.js';
import type { RunningServer } from '../../../server/start.js';
import { removeDir, tempDir } from '../../helpers/files.js';
import { expectDownloadEquals } from '../../helpers/integrity.js';
import { type ScratchDatabase, scratchDatabase } from '../../helpers/postgres.js';
import { startConfiguredServer, startTestServerAt } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadFile } from '../../helpers/tus.js';

const EMBEDDED = { DATABASE_URL: '' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface IdentityFile {
  identity: string;
  database: string;
  boundAt: string;
}

async function identityFile(dataDir: string): Promise<IdentityFile> {
  return JSON.parse(await readFile(path.join(dataDir, 'identity.json'), 'utf8')) as IdentityFile;
}

/** The identity recorded in a PostgreSQL database, read directly. */
async function identityOf(url: string): Promise<string | undefined> {
  const database = await openDatabase({ kind: 'postgres', url, maxConnections: 1 });
  try {
    return await new IdentityRepository(database.db).get();
  } finally {
    await database.close();
  }
}

async function identityRow(server: RunningServer): Promise<string | undefined> {
  const [row] = await server.database.db.select().from(dataIdentity);
  return row?.identity;
}

/** The start's error, which must be a refusal. */
async function refusal(start: Promise<RunningServer>): Promise<string> {
  const outcome = await start.then(
    async (server) => {
      await server.close();
      return undefined;
    },
    (error: unknown) => error,
  );
  expect(outcome, 'the start is refused').to.be.instanceOf(StartRefusedError);
  const message = (outcome as Error).message;
  expect(message.split('\n'), 'one line').to.have.length(1);
  return message;
}

/** A URL with a password (PostgreSQL's trust authentication ignores it) that must never be shown. */
function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = 'hidden-pw-1234';
  return parsed.toString();
}

describe('binding DATA_DIR to its database', () => {
  const dirs: string[] = [];
  const databases: ScratchDatabase[] = [];
  const dir = async () => {
    const made = await tempDir('upload-test-binding-');
    dirs.push(made);
    return made;
  };
  const database = async (tag: string) => {
    const made = await scratchDatabase(tag);
    if (!made) throw new Error('needs DATABASE_URL');
    databases.push(made);
    return made;
  };
  after(async () => {
    for (const made of dirs) await removeDir(made);
    for (const made of databases) await made.drop();
  });

  it('binds a fresh DATA_DIR and embedded database to one identity, finds it again, and rebinds an installation from before identities', async function () {
    this.timeout(120_000);
    const dataDir = await dir();
    const owner = uniqueOwner('binding');
    const first = await startConfiguredServer(dataDir, EMBEDDED);
    let original: IdentityFile;
    let assetId: string | null;
    const source = path.join(dataDir, '..', `${path.basename(dataDir)}-source.bin`);
    await writeFile(source, randomBytes(200_000));
    try {
      original = await identityFile(dataDir);
      expect(original.identity).to.match(UUID);
      expect(original.database).to.equal(`the embedded database in ${path.join(dataDir, 'pglite')}`);
      expect(await identityRow(first)).to.equal(original.identity);
      assetId = (await tusUploadFile(first.tusUrl, source, { owner })).assetId;
    } finally {
      await first.close();
    }

    const again = await startConfiguredServer(dataDir, EMBEDDED);
    try {
      expect(await identityFile(dataDir), 'the file is left as it was').to.deep.equal(original);
      expect(await identityRow(again)).to.equal(original.identity);
      // as before this change: no identity in the directory nor in the database
      await again.database.db.delete(dataIdentity);
    } finally {
      await again.close();
    }
    await rm(path.join(dataDir, 'identity.json'));

    const upgraded = await startConfiguredServer(dataDir, EMBEDDED);
    try {
      const rebound = await identityFile(dataDir);
      expect(rebound.identity).to.match(UUID).and.not.equal(original.identity);
      expect(await identityRow(upgraded)).to.equal(rebound.identity);
      await expectDownloadEquals(upgraded.url, owner, assetId, source, `${source}.down`);
      await upgraded.database.db.delete(dataIdentity);
    } finally {
      await upgraded.close();
      await rm(`${source}.down`, { force: true });
      await rm(source, { force: true });
    }
    await rm(path.join(dataDir, 'identity.json'));
    if (!process.env.DATABASE_URL) return;

    // the same installation from before identities, switched to PostgreSQL: its rows are not there
    const target = await database('legacy');
    const message = await refusal(startConfiguredServer(dataDir, { DATABASE_URL: withPassword(target.url) }));
    expect(message).to.include(
      `DATA_DIR=${dataDir} holds an embedded database (${path.join(dataDir, 'pglite')}; upload sessions: 1, assets: 1)`,
    );
    expect(message).to.include('npm run db:move-to-postgres');
    expect(message).to.include(':***@').and.not.include('hidden-pw-1234');
    expect(await readFile(path.join(dataDir, 'identity.json')).catch(() => undefined), 'nothing bound').to.equal(
      undefined,
    );
    expect(await identityOf(target.url), 'nothing bound').to.equal(undefined);
  });

  describe('on PostgreSQL', () => {
    before(function () {
      if (!process.env.DATABASE_URL) {
        console.log('      skipped: needs DATABASE_URL (PostgreSQL)');
        this.skip();
      }
    });

    it('lets an empty DATA_DIR join a database another one is bound to, and refuses one holding files', async () => {
      const shared = await database('join');
      const env = { DATABASE_URL: shared.url };
      const firstDir = await dir();
      const first = await startConfiguredServer(firstDir, env);
      const identity = (await identityFile(firstDir)).identity;
      expect(await identityRow(first)).to.equal(identity);
      await first.close();

      const emptyDir = await dir();
      const second = await startConfiguredServer(emptyDir, env);
      await second.close();
      expect((await identityFile(emptyDir)).identity, 'adopted').to.equal(identity);

      const fullDir = await dir();
      await mkdir(path.join(fullDir, 'assets', 'someone', 'an-asset'), { recursive: true });
      await writeFile(path.join(fullDir, 'assets', 'someone', 'an-asset', 'file.bin'), 'bytes of another database');
      const message = await refusal(startConfiguredServer(fullDir, env));
      expect(message).to.include(`DATA_DIR=${fullDir} holds uploads or assets but no identity.json`);
      expect(message).to.include(`already belongs to a data directory (identity ${identity})`);
      expect(await readFile(path.join(fullDir, 'identity.json')).catch(() => undefined)).to.equal(undefined);
    });

    it('refuses a DATA_DIR pointed at another database: one with its own identity, or a new one', async () => {
      const home = await database('home');
      const other = await database('other');
      const fresh = await database('fresh');
      const dataDir = await dir();
      await (await startConfiguredServer(dataDir, { DATABASE_URL: home.url })).close();
      const otherDir = await dir();
      await (await startConfiguredServer(otherDir, { DATABASE_URL: other.url })).close();
      const bound = await identityFile(dataDir);

      const mismatch = await refusal(startConfiguredServer(dataDir, { DATABASE_URL: withPassword(other.url) }));
      expect(mismatch).to.include(`DATA_DIR=${dataDir} belongs to another database (identity ${bound.identity}`);
      expect(mismatch).to.include(`/${other.name} (identity ${(await identityFile(otherDir)).identity})`);
      expect(mismatch).to.include(':***@').and.not.include('hidden-pw-1234');

      const unbound = await refusal(startConfiguredServer(dataDir, { DATABASE_URL: withPassword(fresh.url) }));
      expect(unbound).to.include(`DATA_DIR=${dataDir} belongs to ${bound.database} (identity ${bound.identity})`);
      expect(unbound).to.include('has no identity');
      expect(unbound).to.include('set DATABASE_URL to the database this DATA_DIR belongs to');
      expect(await identityOf(fresh.url), 'the refused start bound nothing').to.equal(undefined);
      expect(await identityFile(dataDir), 'the refused DATA_DIR is unchanged').to.deep.equal(bound);
    });

    it('does not check a database handed to the server by its caller (the test run shares one across DATA_DIRs)', async () => {
      const home = await database('handed');
      const dataDir = await dir();
      await (await startConfiguredServer(dataDir, { DATABASE_URL: home.url })).close();
      const bound = await identityFile(dataDir);
      const server = await startTestServerAt(dataDir);
      await server.close();
      expect(await identityFile(dataDir)).to.deep.equal(bound);
    });
  });
});
