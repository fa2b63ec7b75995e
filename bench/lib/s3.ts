// Object storage for `npm run bench -- --storage s3`: the gateway named by the S3_* variables (as
// ../shared/tools/ceph-rgw.sh prints them), one bucket per server so neither sees the other's
// objects, each server's environment, and emptying a bucket between workloads so the gateway holds
// at most one workload's uploads at a time.
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ServerName } from './processes.js';

export interface BenchS3 {
  /** The server environment that puts `server` on its own bucket of the gateway. */
  env(server: ServerName, round: number): Record<string, string>;
  /** Deletes every object and aborts every multipart upload in `server`'s bucket. */
  empty(server: ServerName): Promise<void>;
  /** Empties and removes the buckets. */
  close(): Promise<void>;
}

// the AWS SDK's own settings a gateway may ask for (ceph-rgw.sh prints them), passed to the servers
const SDK_SETTINGS = ['AWS_REQUEST_CHECKSUM_CALCULATION', 'AWS_RESPONSE_CHECKSUM_VALIDATION'];

export async function benchS3(servers: readonly ServerName[]): Promise<BenchS3> {
  const endpoint = process.env.S3_ENDPOINT;
  if (!endpoint) {
    throw new Error(
      '--storage s3 needs a gateway: set S3_ENDPOINT (and S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY), e.g. ' +
        'eval "$(../shared/tools/ceph-rgw.sh start)"',
    );
  }
  const common: Record<string, string> = {
    S3_ENDPOINT: endpoint,
    S3_REGION: process.env.S3_REGION ?? 'us-east-1',
    S3_FORCE_PATH_STYLE: process.env.S3_FORCE_PATH_STYLE ?? 'true',
    S3_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID ?? '',
    S3_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY ?? '',
    ...Object.fromEntries(SDK_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
  };
  const client = new S3Client({
    region: common.S3_REGION,
    endpoint,
    forcePathStyle: common.S3_FORCE_PATH_STYLE !== 'false',
    ...(common.S3_ACCESS_KEY_ID && common.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: common.S3_ACCESS_KEY_ID, secretAccessKey: common.S3_SECRET_ACCESS_KEY } }
      : {}),
  });
  const bucketOf = (server: ServerName) => `tus-bench-${process.pid}-${server}`;
  for (const server of servers) await client.send(new CreateBucketCommand({ Bucket: bucketOf(server) }));

  const empty = async (server: ServerName) => {
    const Bucket = bucketOf(server);
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket }));
    for (const u of uploads.Uploads ?? []) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId }));
    }
    for (;;) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key ?? '' }));
      if (keys.length === 0) return;
      await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys } }));
    }
  };
  return {
    env: (server, round) => ({
      ...common,
      S3_BUCKET: bucketOf(server),
      // ours: STORAGE=s3 under a prefix of its own per round; stock reads only the S3_* above
      ...(server === 'ours' ? { STORAGE: 's3', S3_PREFIX: `round-${round + 1}` } : {}),
    }),
    empty,
    async close() {
      for (const server of servers) {
        await empty(server);
        await client.send(new DeleteBucketCommand({ Bucket: bucketOf(server) }));
      }
      client.destroy();
    },
  };
}
