// Builds the upload page: web/src bundled by esbuild into public/dist (app.js, app.css) beside a
// copy of web/index.html. Run by `npm run build`, which `npm install` runs too (prepare).
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const WEB = path.dirname(fileURLToPath(import.meta.url));
export const DIST = path.resolve(WEB, '../public/dist');

export async function buildPage(options: { minify?: boolean } = {}): Promise<void> {
  await mkdir(DIST, { recursive: true });
  await build({
    entryPoints: [
      { in: path.join(WEB, 'src/main.ts'), out: 'app' },
      { in: path.join(WEB, 'src/app.css'), out: 'app' },
    ],
    outdir: DIST,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: options.minify ?? true,
    sourcemap: true,
    logLevel: 'warning',
    legalComments: 'linked',
  });
  await copyFile(path.join(WEB, 'index.html'), path.join(DIST, 'index.html'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildPage();
  console.log(`built the upload page into ${path.relative(process.cwd(), DIST) || '.'}`);
}
