// The "stock" server: @tus/server with @tus/file-store and their default settings, mounted at
// /files on a plain node:http server, as people deploy it. Env: PORT, HOST, DATA_DIR.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const dataDir = path.resolve(process.env.DATA_DIR ?? './data-stock');
const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

mkdirSync(dataDir, { recursive: true });
const tus = new Server({ path: '/files', datastore: new FileStore({ directory: dataDir }) });
const server = http.createServer((req, res) => {
  tus.handle(req, res).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500).end();
  });
});
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(JSON.stringify({ msg: 'listening', server: 'stock', port: actual }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
