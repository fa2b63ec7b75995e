// Bundles the server into dist/: main.js, the hashing thread's hash-worker.js, the embedded
// database's pglite-worker.js and the SQL migrations beside them. Used by `npm run build` and by the
// tests that run the server as `npm start` does (test/helpers/server-bundle.ts).
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.join(ROOT, 'dist');

export async function buildServer(): Promise<void> {
  await rm(DIST, { recursive: true, force: true });
  await build({
    entryPoints: [
      path.join(ROOT, 'server/main.ts'),
      path.join(ROOT, 'store/write/hash-worker.ts'),
      path.join(ROOT, 'db/pglite-worker.ts'),
    ],
    outdir: DIST,
    // flat: the modules find hash-worker.js, pglite-worker.js and migrations/ next to themselves
    entryNames: '[name]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
  await cp(path.join(ROOT, 'db/migrations'), path.join(DIST, 'migrations'), { recursive: true });
}
