// Builds the upload page: web/src bundled by esbuild into public/dist (app.js, app.css) beside a
// copy of web/index.html. Run by `npm run build`, which `npm install` runs too (prepare). Each file
// is written beside its place and renamed into it, so a server serving public/dist (or a second
// build at the same moment, as when two test runs share a checkout) never sees half a file.
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const WEB = path.dirname(fileURLToPath(import.meta.url));
export const DIST = path.resolve(WEB, '../public/dist');

export async function buildPage(options: { minify?: boolean } = {}): Promise<void> {
  await mkdir(DIST, { recursive: true });
  const built = await build({
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
    write: false,
  });
  const files = [
    ...built.outputFiles.map((file) => ({ target: file.path, write: (to: string) => writeFile(to, file.contents) })),
    { target: path.join(DIST, 'index.html'), write: (to: string) => copyFile(path.join(WEB, 'index.html'), to) },
  ];
  for (const { target, write } of files) {
    const temporary = `${target}.${process.pid}.tmp`;
    await write(temporary);
    await rename(temporary, target);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildPage();
  console.log(`built the upload page into ${path.relative(process.cwd(), DIST) || '.'}`);
}
