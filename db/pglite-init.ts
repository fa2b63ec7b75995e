// The first start of an embedded database: PGlite's initdb runs in a child process of its own, so
// the server never holds initdb's memory. In process, initdb leaves the WebAssembly heaps of both
// initdb and PostgreSQL behind (about 840 MB resident for the life of the process, measured on
// Node 20 with PGlite 0.5); opening the database initdb made costs about 300 MB.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// ESM in the child: the package is found by the URL the parent resolved, wherever the server runs from
const INIT = `
const [, url, dataDir] = process.argv;
const { PGlite } = await import(url);
const db = await PGlite.create({ dataDir });
await db.close();
`;

/** Creates the embedded database in `dataDir` unless it exists; resolves when it is ready to open. */
export async function initPgliteDir(dataDir: string): Promise<void> {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const url = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', INIT, url, dataDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    const reason = stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${code}`;
    throw new Error(`creating the embedded database in ${dataDir} failed: ${reason}`);
  }
}
