// `npm run test:load` (`-- --short` for the quick form CI runs): the real server as a child process
// on PostgreSQL (a fresh database, dropped at the end, unless DATABASE_URL is given), load from
// worker processes, and the server process measured alone through /proc. Three scenarios:
//   a) 100 concurrent chunked uploads from 10 users, every asset byte-identical; time, MiB/s,
//      p50/p99 per request type, server RSS and open file descriptors before, at peak and after
//      (both must settle back to the warmed-up baseline, polled with a deadline);
//   b) 1000 sessions for one user: listing, status and HEAD p50/p99 (p99 < 50 ms, one at a time);
//   c) a cleanup sweep of 10,000 stale sessions with their data files: time, rows per second, and
//      the p99 of a live upload's PATCHes before and during the sweep.
// Prints a table and, after a full run, writes the figures into docs/reliability.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../../db/client.js';
import { FULL, type Plan, ROOT, SHORT } from './plan.js';
import { children, startServer } from './processes.js';
import { describeError, mib, type Report, reportErrors, table, writeReport } from './report.js';
import { scenarioCleanup } from './scenario-cleanup.js';
import { scenarioManySessions } from './scenario-sessions.js';
import { scenarioUploads } from './scenario-uploads.js';

/**
 * The short form has the server close idle database connections after 5 s instead of 30 (unless
 * the URL says otherwise): scenario a waits for them twice, before its baseline and after its round.
 */
function serverDatabaseUrl(url: string, plan: Plan): string {
  const withIdle = new URL(url);
  if (plan.name !== 'short' || withIdle.searchParams.has('idle_timeout')) return url;
  withIdle.searchParams.set('idle_timeout', '5');
  return withIdle.toString();
}

// ---- main ----

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      // a subset of the scenarios, e.g. --scenarios a (default a,b,c)
      scenarios: { type: 'string', default: 'a,b,c' },
      // extra environment for the server process, e.g. --server-env MALLOC_ARENA_MAX=2
      'server-env': { type: 'string', multiple: true, default: [] },
    },
  });
  const extraEnv = Object.fromEntries(
    (values['server-env'] ?? []).map((pair) => [pair.split('=')[0] ?? '', pair.split('=').slice(1).join('=')]),
  );
  const plan = values.short ? SHORT : FULL;
  const scenarios = new Set((values.scenarios ?? '').split(',').map((s) => s.trim()));
  const build = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/build.ts'), '--server'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('building the server failed');
  // an empty DATABASE_URL counts as unset, as it does for the server
  const given = process.env.DATABASE_URL || undefined;
  const dbName = `t_i8_load_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const psql = (command: string) =>
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', command], { stdio: 'pipe' });
  if (!given) psql(`CREATE DATABASE ${dbName}`);
  const databaseUrl = given ?? `postgres://postgres@127.0.0.1:5432/${dbName}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'upload-load-'));
  const secret = randomBytes(32).toString('hex');
  const env = {
    DATA_DIR: dataDir,
    DATABASE_URL: serverDatabaseUrl(databaseUrl, plan),
    JWT_SECRET: secret,
    LOG_LEVEL: 'info',
    UPLOADS_PER_HOUR: '0',
    MAX_ACTIVE_SESSIONS: String(plan.sessions * 2),
    CLEANUP_CRON: '0 0 1 1 *',
    ...extraEnv,
  };
  const report: Report = {
    plan,
    database: `PostgreSQL ${given ? '(DATABASE_URL)' : `(fresh database ${dbName})`}`,
    when: new Date().toISOString(),
    machine: `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${mib(os.totalmem())} MiB RAM, Node ${process.version}`,
    failures: [],
    figures: [],
    rows: [],
  };
  const database = await openDatabase({ kind: 'postgres', url: databaseUrl, maxConnections: 4 });
  const stopAll = async () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    void stopAll().then(() => {
      if (!given) psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      process.exit(130);
    });
  });
  const started = Date.now();
  try {
    const server = await startServer(env);
    try {
      console.log(`load (${plan.name}): server pid ${server.pid} on ${server.url}, ${report.database}`);
      if (scenarios.has('a')) {
        console.log('a) concurrent uploads ...');
        await scenarioUploads(plan, server, secret, dataDir, report);
      }
      if (scenarios.has('b')) {
        console.log('b) many sessions of one user ...');
        await scenarioManySessions(plan, server, secret, report);
      }
    } finally {
      await server.stop();
      reportErrors(server, report);
    }
    if (scenarios.has('c')) {
      console.log('c) cleanup sweep with a live upload ...');
      await scenarioCleanup(plan, env, secret, database, report);
    }
  } catch (error) {
    report.failures.push(`run failed: ${describeError(error)}`);
  } finally {
    await stopAll();
    await database.close();
    if (!given) psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await rm(dataDir, { recursive: true, force: true });
  }
  report.figures.unshift(['run', `${plan.name}, ${((Date.now() - started) / 1000).toFixed(0)} s, ${report.when}`]);
  report.figures.splice(1, 0, ['machine', report.machine], ['database', report.database]);
  const text = table(report);
  console.log(`\n${text}\n`);
  if (report.failures.length > 0) {
    console.log(`FAILED:\n  - ${report.failures.join('\n  - ')}`);
    return 1;
  }
  console.log('all load checks passed');
  if (plan.name === 'full' && scenarios.size === 3) await writeReport(text);
  return 0;
}
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
