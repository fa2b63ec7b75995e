// `npm run build` (also run by `npm install` and before `npm start`): bundles the server into
// dist/ (scripts/lib/build-server.ts) and the upload page into public/dist. Running compiled code
// keeps the TypeScript loader out of the server process (about 90 MB less resident memory).
// `--server` builds only the server.
import path from 'node:path';
import { buildPage } from '../web/build.js';
import { buildServer, DIST } from './lib/build-server.js';

await buildServer();
if (!process.argv.includes('--server')) await buildPage();
console.log(
  `built ${path.relative(process.cwd(), DIST) || 'dist'}${process.argv.includes('--server') ? '' : ' and public/dist'}`,
);
