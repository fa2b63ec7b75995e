// `npm run build` (also run by `npm install` and before `npm start`): bundles the server into
// dist/ (main.js, the hashing thread's hash-worker.js and the SQL migrations beside them) and the
// upload page into public/dist. Running compiled code keeps the TypeScript loader out of the
// server process (about 90 MB less resident memory). `--server` builds only the server.
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildPage } from '../web/build.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');

async function buildServer(): Promise<void> {
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

await buildServer();
if (!process.argv.includes('--server')) await buildPage();
console.log(
  `built ${path.relative(process.cwd(), DIST) || 'dist'}${process.argv.includes('--server') ? '' : ' and public/dist'}`,
);
