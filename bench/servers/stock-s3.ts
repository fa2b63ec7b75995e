// The "stock" server on object storage: @tus/server with @tus/s3-store and its default settings
// (8 MiB preferred parts, an `.info` object per upload, a `.part` object for PATCHes that end
// inside a part), mounted at /files on a plain node:http server. Env: PORT, HOST, S3_BUCKET,
// S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY.
import { S3Store } from '@tus/s3-store';
import { Server } from '@tus/server';
import { serveTus } from './serve-tus.js';

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
serveTus(new Server({ path: '/files', datastore }), 'stock-s3');
