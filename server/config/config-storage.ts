// Where the bytes go (STORAGE): local files under DATA_DIR (the default), or an S3-compatible
// object store (STORAGE=s3 with S3_BUCKET, S3_PREFIX, S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE,
// and S3_PRESIGNED_DOWNLOADS for downloads by redirect to a presigned URL).
// Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID, profiles, instance roles),
// or from S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY when both are set.
import path from 'node:path';
import { z } from 'zod';
import type { S3Settings } from '../../store/storage/s3-settings.js';
import { flag } from './config-fields.js';

export type StorageConfig = { kind: 'file' } | ({ kind: 's3' } & S3Settings);

const StorageSchema = z.object({
  STORAGE: z.enum(['file', 's3'], { message: 'STORAGE must be file or s3' }).default('file'),
  // bucket naming rules of S3 (3-63 characters, lower case, digits, dots, hyphens)
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'S3_BUCKET must be a bucket name (3-63 of a-z, 0-9, . and -)')
    .optional(),
  S3_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._/-]*$/, 'S3_PREFIX may hold only A-Z, a-z, 0-9, ".", "_", "-" and "/"')
    .transform((v) => v.replace(/^\/+|\/+$/g, ''))
    .default(''),
  S3_ENDPOINT: z
    .string()
    .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), 'S3_ENDPOINT must be an http:// or https:// URL')
    .optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: flag('S3_FORCE_PATH_STYLE', false),
  S3_PRESIGNED_DOWNLOADS: flag('S3_PRESIGNED_DOWNLOADS', false),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
});

/** The storage settings, or the problems with them (one message per bad variable). */
export function storageConfig(
  env: Record<string, string | undefined>,
  dataDir: string,
): { config: StorageConfig } | { problems: string[] } {
  const parsed = StorageSchema.safeParse(env);
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => issue.message) };
  const e = parsed.data;
  if (e.STORAGE === 'file') return { config: { kind: 'file' } };
  const problems: string[] = [];
  if (!e.S3_BUCKET) problems.push('STORAGE=s3 needs S3_BUCKET');
  if (Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither');
  }
  if (problems.length > 0 || !e.S3_BUCKET) return { problems };
  const credentials =
    e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
      ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
      : undefined;
  return {
    config: {
      kind: 's3',
      bucket: e.S3_BUCKET,
      prefix: e.S3_PREFIX,
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      credentials,
      spoolDir: path.join(dataDir, 'spool'),
      presignedDownloads: e.S3_PRESIGNED_DOWNLOADS,
    },
  };
}
