// Configuration: read from the environment once, validated with a message per bad value, and
// passed down as a plain object. Nothing else reads process.env.
import path from 'node:path';
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { idleTimeoutParam } from '../../db/postgres-connection.js';
import { clampChunkSize } from '../../store/chunking.js';
import type { UrlSettings } from '../http/public-url.js';
import { LOG_LEVELS, type LogLevel, type LogLevels, parseLogLevels } from '../ops/log-levels.js';
import { type AuthConfig, resolveAccess } from './config-access.js';
import { baseUrl, count, duration, flag, size, trustList } from './config-fields.js';
import { type StorageConfig, storageConfig } from './config-storage.js';
import { parseSize } from './units.js';

export type { AuthConfig };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Where the bytes go: files under DATA_DIR, or S3 (config-storage.ts). */
  storage: StorageConfig;
  databaseUrl: string | undefined;
  auth: AuthConfig;
  /** GET /dev/token mints tokens (DEV_TOKENS=1: development secret, loopback HOST only). */
  devTokens: boolean;
  tusPath: string;
  /** How the URLs handed to clients are made (PUBLIC_URL, TRUST_PROXY, RELATIVE_URLS). */
  urls: UrlSettings;
  chunkSize: number;
  /** Set when CHUNK_SIZE was outside [5, 20] MiB and got clamped; start-up logs it. */
  chunkSizeClampedFrom: number | undefined;
  sessionTtlMs: number;
  cleanupCron: string;
  logLevel: LogLevel;
  /** JSON lines, or readable lines for a person (LOG_FORMAT; by default readable on a terminal). */
  logFormat: 'json' | 'pretty';
  /** Largest upload accepted, in bytes; 0 means no limit. */
  maxUploadSize: number;
  /** How long SIGTERM waits for in-flight requests before closing them. */
  shutdownGraceMs: number;
  /** A connection that neither sends nor receives a byte for this long is closed. */
  idleTimeoutMs: number;
  /** Largest upload per asset type, in bytes; the keys are the asset types accepted. */
  assetTypeLimits: ReadonlyMap<string, number>;
  /** Upload creations allowed per owner per rolling hour; 0 turns the limit off. */
  uploadsPerHour: number;
  /** Unfinished sessions an owner may hold at once; 0 turns the cap off. */
  maxActiveSessions: number;
  /** Largest body accepted by the single-shot POST /storage/upload. */
  singleUploadMax: number;
  /** Data requests (PATCH, chunk, single-shot) one user may have in flight per instance; 0: no cap. */
  maxConcurrentWritesPerUser: number;
  jwt: {
    issuer: string | undefined;
    audience: string | undefined;
    clockToleranceSeconds: number;
    /** Tokens without `exp` are refused (JWT_REQUIRE_EXP, default true). */
    requireExp: boolean;
    /** Longest lifetime accepted: exp - iat, or exp - now without iat (JWT_MAX_LIFETIME). */
    maxLifetimeSeconds: number;
  };
  /** Files on disk younger than this are never taken for orphans by the cleanup sweep. */
  orphanGraceMs: number;
  /** Orphans moved into DATA_DIR/quarantine are deleted after this long there. */
  quarantineRetentionMs: number;
  /** How long a PATCH waits for another instance to release an upload before answering 423. */
  lockTimeoutMs: number;
  /** When set, GET /metrics requires `Authorization: Bearer <this>`. */
  metricsToken: string | undefined;
  // --- live progress, webhooks and logs ---
  /** Per-module levels from LOG_LEVEL (`info,tus=debug`); logLevel is the default level. */
  logModules: LogLevels['modules'];
  /** Interval of the heartbeat comments on progress event streams. */
  sseHeartbeatMs: number;
  /** Progress streams one owner may hold open on this instance; 0 turns the cap off. */
  sseMaxStreamsPerUser: number;
  /** Progress streams open on one upload on this instance; 0 turns the cap off. */
  sseMaxStreamsPerSession: number;
  /** Upload events, and delivered or dead webhooks, older than this are pruned by the cleanup sweep. */
  eventRetentionMs: number;
  /** Set when WEBHOOK_URL is. */
  webhook: WebhookConfig | undefined;
}

export interface WebhookConfig {
  url: string;
  /** Signs each body with HMAC-SHA256 when set. */
  secret: string | undefined;
  /** Attempts per webhook before it is marked dead. */
  maxAttempts: number;
  /** Delay before the first retry; doubles per attempt up to backoffMaxMs. */
  backoffMs: number;
  backoffMaxMs: number;
  /** How long one delivery may take. */
  timeoutMs: number;
}

export const DEFAULT_ASSET_TYPE_LIMITS: ReadonlyMap<string, number> = new Map([
  ['model', 2 * 1024 ** 3],
  ['texture', 512 * 1024 ** 2],
  ['audio', 1024 ** 3],
  ['video', 20 * 1024 ** 3],
  ['image', 100 * 1024 ** 2],
  ['other', 5 * 1024 ** 3],
]);

export { LOG_LEVELS, type LogLevel };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** "model=2GiB,video=20GiB": overrides or adds asset types on top of the defaults. */
const assetTypeLimits = z.string().transform((text, ctx) => {
  const limits = new Map(DEFAULT_ASSET_TYPE_LIMITS);
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [name, value] = entry.split('=').map((p) => p.trim());
    const bytes = value ? parseSize(value) : undefined;
    if (!name || !/^[a-z0-9_-]{1,32}$/.test(name) || bytes === undefined || bytes <= 0) {
      ctx.addIssue({
        code: 'custom',
        message: `ASSET_TYPE_LIMITS entry ${JSON.stringify(entry)} is not type=size (e.g. video=20GiB)`,
      });
      return z.NEVER;
    }
    limits.set(name, bytes);
  }
  return limits as ReadonlyMap<string, number>;
});

const EnvSchema = z.object({
  PORT: z.coerce
    .number({ message: 'PORT must be a number' })
    .int('PORT must be a whole number')
    .min(0, 'PORT must be 0-65535')
    .max(65535, 'PORT must be 0-65535')
    .default(1080),
  // default: 127.0.0.1 without JWT settings, 0.0.0.0 with them (config-access.ts)
  HOST: z.string().min(1, 'HOST must not be empty').optional(),
  DATA_DIR: z.string().min(1, 'DATA_DIR must not be empty').default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://')
    .refine(
      (url) => typeof idleTimeoutParam(url) !== 'string',
      'DATABASE_URL: idle_timeout must be a number of seconds, e.g. ?idle_timeout=30',
    )
    .optional(),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  JWT_PUBLIC_KEY: z.string().includes('-----BEGIN', { message: 'JWT_PUBLIC_KEY must be a PEM public key' }).optional(),
  TUS_PATH: z
    .string()
    .regex(/^\/[A-Za-z0-9/_-]*[A-Za-z0-9_-]$/, 'TUS_PATH must be an absolute URL path like /files')
    .default('/files'),
  PUBLIC_URL: baseUrl('PUBLIC_URL').optional(),
  TRUST_PROXY: trustList('TRUST_PROXY').default(false),
  RELATIVE_URLS: flag('RELATIVE_URLS', false),
  CHUNK_SIZE: size('CHUNK_SIZE').default(10 * 1024 * 1024),
  SESSION_TTL: duration('SESSION_TTL').default(24 * 3_600_000),
  CLEANUP_CRON: z
    .string()
    .refine((v) => isValidCron(v), { message: 'CLEANUP_CRON is not a valid cron expression' })
    .default('0 * * * *'),
  LOG_LEVEL: z
    .string()
    .transform((text, ctx) => {
      const parsed = parseLogLevels(text);
      if ('problems' in parsed) {
        for (const message of parsed.problems) ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return parsed;
    })
    .default({ level: 'info', modules: {} }),
  LOG_FORMAT: z.enum(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' }).optional(),
  MAX_UPLOAD_SIZE: size('MAX_UPLOAD_SIZE').default(0),
  SHUTDOWN_GRACE: duration('SHUTDOWN_GRACE').default(10_000),
  IDLE_TIMEOUT: duration('IDLE_TIMEOUT').default(60_000),
  ASSET_TYPE_LIMITS: assetTypeLimits.default(new Map(DEFAULT_ASSET_TYPE_LIMITS)),
  UPLOADS_PER_HOUR: count('UPLOADS_PER_HOUR', 100),
  MAX_ACTIVE_SESSIONS: count('MAX_ACTIVE_SESSIONS', 100),
  SINGLE_UPLOAD_MAX: size('SINGLE_UPLOAD_MAX').default(50 * 1024 * 1024),
  MAX_CONCURRENT_WRITES: count('MAX_CONCURRENT_WRITES', 32),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_CLOCK_TOLERANCE: duration('JWT_CLOCK_TOLERANCE').default(30_000),
  JWT_REQUIRE_EXP: flag('JWT_REQUIRE_EXP', true),
  JWT_MAX_LIFETIME: duration('JWT_MAX_LIFETIME').default(24 * 3_600_000),
  DEV_TOKENS: flag('DEV_TOKENS', false),
  NODE_ENV: z.string().optional(),
  ORPHAN_GRACE: duration('ORPHAN_GRACE').default(3_600_000),
  QUARANTINE_RETENTION: duration('QUARANTINE_RETENTION').default(30 * 86_400_000),
  LOCK_TIMEOUT: duration('LOCK_TIMEOUT').default(20_000),
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  SSE_HEARTBEAT: duration('SSE_HEARTBEAT').default(15_000),
  SSE_MAX_STREAMS_PER_USER: count('SSE_MAX_STREAMS_PER_USER', 32),
  SSE_MAX_STREAMS_PER_SESSION: count('SSE_MAX_STREAMS_PER_SESSION', 8),
  EVENT_RETENTION: duration('EVENT_RETENTION').default(7 * 86_400_000),
  WEBHOOK_URL: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'WEBHOOK_URL must be an http:// or https:// URL')
    .refine((v) => URL.canParse(v), { message: 'WEBHOOK_URL is not a valid URL' })
    .optional(),
  WEBHOOK_SECRET: z.string().min(16, 'WEBHOOK_SECRET must be at least 16 characters').optional(),
  WEBHOOK_MAX_ATTEMPTS: count('WEBHOOK_MAX_ATTEMPTS', 12).refine(
    (n) => n >= 1,
    'WEBHOOK_MAX_ATTEMPTS must be 1 or more',
  ),
  WEBHOOK_BACKOFF: duration('WEBHOOK_BACKOFF').default(5_000),
  WEBHOOK_BACKOFF_MAX: duration('WEBHOOK_BACKOFF_MAX').default(3_600_000),
  WEBHOOK_TIMEOUT: duration('WEBHOOK_TIMEOUT').default(10_000),
});

/** What the configuration depends on besides the environment. */
export interface ConfigContext {
  /** False for one-off tools that listen on nothing (migrations, cleanup): the HOST rules do not apply. */
  listening?: boolean;
  /** stdout is a terminal: logs default to the readable format. */
  terminal?: boolean;
}

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>, context: ConfigContext = {}): Config {
  // empty strings count as unset, as shells and .env files often produce them
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => issue.message));
  }
  const e = parsed.data;
  const access = resolveAccess(e, context.listening !== false);
  if ('problems' in access) throw new ConfigError(access.problems);
  if (e.WEBHOOK_SECRET && !e.WEBHOOK_URL) {
    throw new ConfigError(['WEBHOOK_SECRET is set but WEBHOOK_URL is not']);
  }
  const chunkSize = clampChunkSize(e.CHUNK_SIZE);
  const storage = storageConfig(present, path.resolve(e.DATA_DIR));
  if ('problems' in storage) throw new ConfigError(storage.problems);
  return {
    storage: storage.config,
    port: e.PORT,
    host: access.host,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    auth: access.auth,
    devTokens: access.devTokens,
    tusPath: e.TUS_PATH,
    urls: { publicUrl: e.PUBLIC_URL, trustProxy: e.TRUST_PROXY, relativeUrls: e.RELATIVE_URLS },
    chunkSize,
    chunkSizeClampedFrom: chunkSize === e.CHUNK_SIZE ? undefined : e.CHUNK_SIZE,
    sessionTtlMs: e.SESSION_TTL,
    cleanupCron: e.CLEANUP_CRON,
    logLevel: e.LOG_LEVEL.level,
    logFormat: e.LOG_FORMAT ?? (context.terminal ? 'pretty' : 'json'),
    maxUploadSize: e.MAX_UPLOAD_SIZE,
    shutdownGraceMs: e.SHUTDOWN_GRACE,
    idleTimeoutMs: e.IDLE_TIMEOUT,
    assetTypeLimits: e.ASSET_TYPE_LIMITS,
    uploadsPerHour: e.UPLOADS_PER_HOUR,
    maxActiveSessions: e.MAX_ACTIVE_SESSIONS,
    singleUploadMax: e.SINGLE_UPLOAD_MAX,
    maxConcurrentWritesPerUser: e.MAX_CONCURRENT_WRITES,
    jwt: {
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      clockToleranceSeconds: Math.round(e.JWT_CLOCK_TOLERANCE / 1000),
      requireExp: e.JWT_REQUIRE_EXP,
      maxLifetimeSeconds: Math.floor(e.JWT_MAX_LIFETIME / 1000),
    },
    orphanGraceMs: e.ORPHAN_GRACE,
    quarantineRetentionMs: e.QUARANTINE_RETENTION,
    lockTimeoutMs: e.LOCK_TIMEOUT,
    metricsToken: e.METRICS_TOKEN,
    logModules: e.LOG_LEVEL.modules,
    sseHeartbeatMs: e.SSE_HEARTBEAT,
    sseMaxStreamsPerUser: e.SSE_MAX_STREAMS_PER_USER,
    sseMaxStreamsPerSession: e.SSE_MAX_STREAMS_PER_SESSION,
    eventRetentionMs: e.EVENT_RETENTION,
    webhook: webhookConfig(e),
  };
}

function webhookConfig(e: z.infer<typeof EnvSchema>): WebhookConfig | undefined {
  if (!e.WEBHOOK_URL) return undefined;
  return {
    url: e.WEBHOOK_URL,
    secret: e.WEBHOOK_SECRET,
    maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
    backoffMs: e.WEBHOOK_BACKOFF,
    backoffMaxMs: e.WEBHOOK_BACKOFF_MAX,
    timeoutMs: e.WEBHOOK_TIMEOUT,
  };
}
