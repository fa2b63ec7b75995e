// The "stock" server on object storage: @tus/server with @tus/s3-store and its default settings
// (8 MiB preferred parts, an `.info` object per upload, a `.part` object for PATCHes that end
// inside a part), mounted at /files on a plain node:http server. Env: PORT, HOST, S3_BUCKET,
// S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY.
import http from 'node:http';
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const bucket = process.env.S3_BUCKET;
if (!bucket) throw new Error('S3_BUCKET is required');
const accessKeyId = process.env.S3_ACCESS_KEY_ID;
const secretAccessKey = process.env.S3_SECRET_ACCESS_KEY;

const datastore = new S3Store({
  s3ClientConfig: {
    bucket,
    region: process.env.S3_REGION ?? 'us-east-1',
    endpoint: process.env.S3_ENDPOINT || undefined,
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== 'false',
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  },
});
const tus = new Server({ path: '/files', datastore });
const server = http.createServer((req, res) => {
  tus.handle(req, res).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) res.writeHead(500).end();
  });
});
server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  console.log(JSON.stringify({ msg: 'listening', server: 'stock-s3', port: actual }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
