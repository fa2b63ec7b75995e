// The S3 gateway the tests run against, when S3_ENDPOINT is set (a Ceph RADOS Gateway started by
// ../shared/tools/ceph-rgw.sh, or any S3-compatible server): its settings, a bucket made on first
// use, a prefix of its own per test so tests never see each other's objects, and the server
// environment that selects STORAGE=s3.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { makeS3Client, type S3Settings } from '../../store/storage/s3-settings.js';

const BUCKET = process.env.S3_TEST_BUCKET ?? 'upload-tests';

/** Why S3 tests cannot run here, or undefined when they can. */
export function s3Unavailable(): string | undefined {
  if (!process.env.S3_ENDPOINT) {
    return 'S3_ENDPOINT is not set; start a gateway with eval "$(../shared/tools/ceph-rgw.sh start)" to run the S3 tests';
  }
  return undefined;
}

/** Settings for a storage under a fresh prefix of the test bucket, spooling under `dataDir`. */
export function s3TestSettings(dataDir: string): S3Settings {
  const key = process.env.S3_ACCESS_KEY_ID;
  const secret = process.env.S3_SECRET_ACCESS_KEY;
  return {
    bucket: BUCKET,
    prefix: `test-${randomBytes(6).toString('hex')}`,
    endpoint: process.env.S3_ENDPOINT,
    region: process.env.S3_REGION ?? 'us-east-1',
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE !== 'false',
    credentials: key && secret ? { accessKeyId: key, secretAccessKey: secret } : undefined,
    spoolDir: path.join(dataDir, 'spool'),
    presignedDownloads: false,
  };
}

let bucketMade: Promise<void> | undefined;

/** A client for `settings`, its bucket made if need be. */
export async function s3ClientFor(settings: S3Settings): Promise<S3Client> {
  const client = makeS3Client(settings);
  bucketMade ??= client.send(new CreateBucketCommand({ Bucket: settings.bucket })).then(
    () => undefined,
    (error: { name?: string }) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    },
  );
  await bucketMade;
  return client;
}

/** The server environment for STORAGE=s3 under `settings`' bucket and prefix. */
export function s3ServerEnv(settings: S3Settings): Record<string, string> {
  return {
    STORAGE: 's3',
    S3_BUCKET: settings.bucket,
    S3_PREFIX: settings.prefix,
    S3_ENDPOINT: settings.endpoint ?? '',
    S3_REGION: settings.region,
    S3_FORCE_PATH_STYLE: String(settings.forcePathStyle),
    S3_PRESIGNED_DOWNLOADS: String(settings.presignedDownloads),
    S3_ACCESS_KEY_ID: settings.credentials?.accessKeyId ?? '',
    S3_SECRET_ACCESS_KEY: settings.credentials?.secretAccessKey ?? '',
    // the AWS SDK's own settings the gateway asks for (read by the SDK in a child process too)
    ...Object.fromEntries(SDK_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
  };
}

const SDK_SETTINGS = ['AWS_REQUEST_CHECKSUM_CALCULATION', 'AWS_RESPONSE_CHECKSUM_VALIDATION'];

/** Keys of the objects under the prefix. */
export async function objectKeys(client: S3Client, settings: S3Settings): Promise<string[]> {
  const answer = await client.send(
    new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: `${settings.prefix}/` }),
  );
  return (answer.Contents ?? []).map((o) => o.Key ?? '');
}

/** Multipart uploads in progress under the prefix, as key and upload id. */
export async function multipartUploads(
  client: S3Client,
  settings: S3Settings,
): Promise<{ key: string; uploadId: string }[]> {
  const answer = await client.send(
    new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: `${settings.prefix}/` }),
  );
  return (answer.Uploads ?? []).map((u) => ({ key: u.Key ?? '', uploadId: u.UploadId ?? '' }));
}

/**
 * Deletes every object and aborts every multipart upload under the prefix: each test file leaves
 * the gateway as it found it (a memstore gateway holds everything in a few GiB of RAM).
 */
export async function emptyPrefix(settings: S3Settings): Promise<void> {
  const client = await s3ClientFor(settings);
  for (const upload of await multipartUploads(client, settings)) {
    await client.send(
      new AbortMultipartUploadCommand({ Bucket: settings.bucket, Key: upload.key, UploadId: upload.uploadId }),
    );
  }
  for (;;) {
    const keys = await objectKeys(client, settings);
    if (keys.length === 0) return;
    await client.send(
      new DeleteObjectsCommand({ Bucket: settings.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
  }
}
