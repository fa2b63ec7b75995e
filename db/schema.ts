// Tables of the upload server. Types used elsewhere are inferred from here, never copied by hand.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';

export const UPLOAD_STATUSES = [
  'initiated',
  'uploading',
  'paused',
  'completed',
  'failed',
  'cancelled',
  'expired',
] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export const uploadStatus = pgEnum('upload_status', UPLOAD_STATUSES);

/** Chunk number (1-based, as a string key) -> sha256 hex of that chunk's bytes. */
export type ChunkDigests = Record<string, string>;
/** tus Upload-Metadata as the client sent it: key -> decoded value (null when the key had none). */
export type UploadMetadata = Record<string, string | null>;

export const uploadSessions = pgTable(
  'upload_sessions',
  {
    id: text('id').primaryKey(),
    ownerId: text('owner_id').notNull(),
    filename: text('filename').notNull(),
    contentType: text('content_type'),
    assetType: text('asset_type').notNull(),
    metadata: jsonb('metadata').$type<UploadMetadata>().notNull().default({}),
    // null while the client defers the length (creation-defer-length)
    uploadLength: bigint('upload_length', { mode: 'number' }),
    // durable offset: never ahead of what is fsynced on disk
    uploadOffset: bigint('upload_offset', { mode: 'number' }).notNull().default(0),
    chunkSize: integer('chunk_size').notNull(),
    totalChunks: integer('total_chunks'),
    chunks: jsonb('chunks').$type<ChunkDigests>().notNull().default({}),
    status: uploadStatus('status').notNull().default('initiated'),
    error: text('error'),
    // tus concatenation: 'partial' uploads are parts of a 'final' one, which lists them in order
    concat: text('concat').$type<'partial' | 'final'>(),
    parts: jsonb('parts').$type<string[]>(),
    // set when finalising starts, so a crash half-way can be repaired
    assetId: uuid('asset_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    // last byte received + the session TTL
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    index('upload_sessions_owner_created_idx').on(t.ownerId, t.createdAt.desc()),
    index('upload_sessions_status_expires_idx').on(t.status, t.expiresAt),
  ],
);

export const assets = pgTable(
  'assets',
  {
    id: uuid('id').primaryKey(),
    ownerId: text('owner_id').notNull(),
    // unique: finalising a session twice can never make two assets
    sessionId: text('session_id').unique(),
    filename: text('filename').notNull(),
    contentType: text('content_type'),
    assetType: text('asset_type').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    // relative to DATA_DIR
    storagePath: text('storage_path').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('assets_owner_created_idx').on(t.ownerId, t.createdAt.desc())],
);

export type UploadSession = typeof uploadSessions.$inferSelect;
export type NewUploadSession = typeof uploadSessions.$inferInsert;
export type Asset = typeof assets.$inferSelect;
export type NewAsset = typeof assets.$inferInsert;

// --- Live progress and notifications ---------------------------------------------------------

/** What happened to an upload, in order, for replay to progress subscribers (Last-Event-ID). */
export const uploadEvents = pgTable(
  'upload_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id').notNull(),
    ownerId: text('owner_id').notNull(),
    // created, progress, status, completed, failed, cancelled, expired
    type: text('type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('upload_events_session_idx').on(t.sessionId, t.id), index('upload_events_created_idx').on(t.createdAt)],
);

export const WEBHOOK_STATES = ['pending', 'delivered', 'dead'] as const;
export type WebhookState = (typeof WEBHOOK_STATES)[number];

/** Webhooks to deliver: written when the upload changes, removed from the queue once delivered. */
export const webhookOutbox = pgTable(
  'webhook_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // what receivers deduplicate on: the same event is sent with the same id on every attempt
    eventId: uuid('event_id').notNull().unique(),
    type: text('type').notNull(),
    sessionId: text('session_id').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    state: text('state').$type<WebhookState>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    // a delivery in progress holds the row until then; past it another worker may retry
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [index('webhook_outbox_due_idx').on(t.state, t.nextAttemptAt)],
);

export type UploadEventRow = typeof uploadEvents.$inferSelect;
export type WebhookOutboxRow = typeof webhookOutbox.$inferSelect;

// --- Binding to a data directory ---------------------------------------------------------------

/**
 * The identity of the data directory this database belongs to: one row, written at the first start
 * and also kept in DATA_DIR/identity.json, so a DATA_DIR pointed at another database (or the
 * reverse) is refused instead of its files being taken for orphans (store/data-binding.ts).
 */
export const dataIdentity = pgTable(
  'data_identity',
  {
    // always 1: the table holds at most one row
    id: integer('id').primaryKey().default(1),
    identity: uuid('identity').notNull(),
    boundAt: timestamp('bound_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('data_identity_one_row', sql`${t.id} = 1`)],
);

// --- Object storage ------------------------------------------------------------------------------

/** Part number (1-based, as a string key) -> what S3 answered for it. */
export type StoredParts = Record<string, { etag: string; size: number }>;

/**
 * The multipart upload behind each upload on object storage (STORAGE=s3): its key and upload id,
 * and each part's ETag as S3 acknowledged it, so completing it needs no ListParts. Written by the
 * storage before the session row records the chunk; no foreign key, as the storage row is made
 * before the session row and outlives it until the multipart upload is aborted or completed.
 */
export const storageUploads = pgTable('storage_uploads', {
  sessionId: text('session_id').primaryKey(),
  objectKey: text('object_key').notNull(),
  uploadId: text('upload_id').notNull(),
  // parts 1..n-1 are exactly this size: where each part lies in the upload
  chunkSize: integer('chunk_size').notNull(),
  parts: jsonb('parts').$type<StoredParts>().notNull().default({}),
  // completed into its object to be read back (a part of a tus concatenation), not yet an asset
  sealed: boolean('sealed').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type StorageUpload = typeof storageUploads.$inferSelect;
