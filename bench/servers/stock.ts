// The "stock" server: @tus/server with @tus/file-store and their default settings, mounted at
// /files on a plain node:http server, as people deploy it. Env: PORT, HOST, DATA_DIR.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { serveTus } from './serve-tus.js';

const dataDir = path.resolve(process.env.DATA_DIR ?? './data-stock');
mkdirSync(dataDir, { recursive: true });
serveTus(new Server({ path: '/files', datastore: new FileStore({ directory: dataDir }) }), 'stock');
