// How long idle pooled connections stay open: 30 s unless DATABASE_URL says `?idle_timeout=`
// (seconds, as postgres.js reads it from a URL). A value that is not a number of seconds stops the
// configuration with a message naming it. The closing itself is checked on a real PostgreSQL
// database of its own when DATABASE_URL is set.
import { expect } from 'chai';
import postgres from 'postgres';
import { openDatabase } from '../../db/client.js';
import { idleTimeoutOf } from '../../db/postgres-connection.js';
import { loadConfig } from '../../server/config/config.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

const base = 'postgres://upload:secret@db.internal:5432/uploads';

describe('PostgreSQL idle connections', () => {
  it('close after 30 s unless the URL sets idle_timeout', () => {
    expect(idleTimeoutOf(base)).to.equal(30);
    expect(idleTimeoutOf(`${base}?idle_timeout=5`)).to.equal(5);
    expect(idleTimeoutOf(`${base}?sslmode=disable&idle_timeout=0`)).to.equal(0);
  });

  it('refuses an idle_timeout that is not a number of seconds, naming it', () => {
    for (const value of ['abc', '-1', '']) {
      expect(() => loadConfig({ DATABASE_URL: `${base}?idle_timeout=${value}` }), value).to.throw(
        /DATABASE_URL: idle_timeout must be a number of seconds/,
      );
    }
    expect(loadConfig({ DATABASE_URL: `${base}?idle_timeout=5` }).databaseUrl).to.include('idle_timeout=5');
  });

  describe('on PostgreSQL', () => {
    let scratch: ScratchDatabase | undefined;
    before(async function () {
      scratch = await scratchDatabase('idle');
      if (!scratch) this.skip();
    });
    after(() => scratch?.drop());

    it('closes the pool once its connections were idle for the time the URL gives', async () => {
      const url = scratch?.url ?? '';
      const watcher = postgres(url, { max: 1, onnotice: () => {} });
      const database = await openDatabase({ kind: 'postgres', url: `${url}?idle_timeout=1` });
      try {
        const others = async () => {
          const [row] = await watcher<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid()`;
          return row?.n ?? 0;
        };
        await database.ping();
        expect(await others()).to.be.greaterThan(0);
        // well inside the default 30 s
        await waitFor(async () => (await others()) === 0, { what: 'the idle connections to close', timeoutMs: 10_000 });
      } finally {
        await database.close();
        await watcher.end({ timeout: 5 });
      }
    });
  });
});
