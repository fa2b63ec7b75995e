// The compiled server that `npm start` runs (dist/main.js), for tests that start it as a child
// process: rebuilt first when any of its sources is newer, so a test never runs stale code. It
// starts in about half the time of the TypeScript sources under tsx, which the crash and restart
// tests pay on every start.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { buildServer, DIST, ROOT } from '../../scripts/lib/build-server.js';

const SOURCES = ['server', 'store', 'db'];

let ready: Promise<string> | undefined;

/** Path of dist/main.js, built or rebuilt once per test process when needed. */
export function serverBundle(): Promise<string> {
  ready ??= (async () => {
    const entry = path.join(DIST, 'main.js');
    const built = await stat(entry).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if ((await newestSource()) > built) await buildServer();
    return entry;
  })();
  return ready;
}

async function newestSource(): Promise<number> {
  let newest = 0;
  for (const dir of SOURCES) {
    for (const entry of await readdir(path.join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !/\.(ts|sql|json)$/.test(entry.name)) continue;
      const { mtimeMs } = await stat(path.join(entry.parentPath, entry.name));
      newest = Math.max(newest, mtimeMs);
    }
  }
  return newest;
}
