// Shared by the cleanup tests: planting orphan files, checking they sit byte for byte in the
// quarantine, waiting for sessions to expire, a server on its own database and `npm run cleanup`.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { UploadSession } from '../../../../db/schema.js';
import { loadConfig } from '../../../../server/config/config.js';
import { type RunningServer, startServer } from '../../../../server/start.js';
import { runScript, type ScriptRun } from '../../../helpers/scripts.js';
import { TEST_JWT_SECRET } from '../../../helpers/tokens.js';
import { waitFor } from '../../../helpers/wait.js';

export const MiB = 1024 * 1024;

export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

export interface Orphans {
  uploads: string[];
  assetDir: string;
  /** Every planted file, relative to DATA_DIR, with its bytes. */
  files: Map<string, Buffer>;
}

/** Plants files that nothing owns: upload data files and an asset directory. Returns their paths. */
export async function plantOrphans(dataDir: string, owner: string): Promise<Orphans> {
  const uploads = [
    path.join(dataDir, 'uploads', randomBytes(16).toString('hex')),
    path.join(dataDir, 'uploads', 'x.tmp'),
  ];
  const assetDir = path.join(dataDir, 'assets', owner, randomUUID());
  await mkdir(assetDir, { recursive: true });
  await mkdir(path.join(dataDir, 'uploads'), { recursive: true });
  const files = new Map<string, Buffer>();
  for (const file of [...uploads, path.join(assetDir, 'left-behind.bin')]) {
    const bytes = randomBytes(1000);
    await writeFile(file, bytes);
    files.set(path.relative(dataDir, file), bytes);
  }
  // ORPHAN_GRACE is 1 ms: let the newest of them get older than that
  const newest = Math.max(...(await Promise.all([...uploads, assetDir].map(async (f) => (await stat(f)).mtimeMs))));
  await waitFor(() => Date.now() > newest + 5, { what: 'the orphans to pass the grace period' });
  return { uploads, assetDir, files };
}

/** The sweep directories under DATA_DIR/quarantine. */
export async function quarantineSweeps(dataDir: string): Promise<string[]> {
  return readdir(path.join(dataDir, 'quarantine')).catch(() => [] as string[]);
}

/**
 * Each orphan has left its place and sits, byte-identical, at the same relative path in one sweep
 * directory of DATA_DIR/quarantine, named after the sweep's time.
 */
export async function expectQuarantined(dataDir: string, orphans: Orphans): Promise<string> {
  for (const file of [...orphans.uploads, orphans.assetDir]) {
    expect(await exists(file), `${file} moved out`).to.equal(false);
  }
  const sweeps = await quarantineSweeps(dataDir);
  const holding = [];
  for (const sweep of sweeps) {
    if (await exists(path.join(dataDir, 'quarantine', sweep, [...orphans.files.keys()][0] ?? ''))) holding.push(sweep);
  }
  expect(holding, `one sweep directory holds the orphans (of ${sweeps.join(', ')})`).to.have.length(1);
  const sweep = holding[0] ?? '';
  expect(sweep).to.match(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/);
  for (const [relative, bytes] of orphans.files) {
    const kept = await readFile(path.join(dataDir, 'quarantine', sweep, relative));
    expect(kept.equals(bytes), `${relative} kept byte for byte`).to.equal(true);
  }
  return sweep;
}

/** Waits until every session has passed its expiry (real time, no clock tricks). */
export async function waitUntilExpired(sessions: (UploadSession | undefined)[]): Promise<void> {
  const latest = Math.max(...sessions.map((s) => s?.expiresAt.getTime() ?? Number.POSITIVE_INFINITY));
  expect(Number.isFinite(latest), 'every session exists').to.equal(true);
  await waitFor(() => Date.now() > latest + 10, { what: 'the stale sessions to pass their TTL', timeoutMs: 10_000 });
}
/** A server with the database its configuration names (not the test run's shared one). */
export async function startOwnServer(
  dataDir: string,
  env: Record<string, string>,
): Promise<RunningServer & { tusUrl: string }> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...env,
  });
  const server = await startServer(config);
  return Object.assign(server, { tusUrl: `${server.url}${config.tusPath}` });
}

/** `npm run cleanup` in the project with the given environment (and the test run's DATABASE_URL). */
export function runCleanupCli(env: Record<string, string>): Promise<ScriptRun> {
  return runScript('cleanup', {
    LOG_LEVEL: 'info',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...env,
  });
}
