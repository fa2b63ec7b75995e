// Prometheus metrics (prom-client), one registry per server: the seed's five (sessions by status,
// outcomes, upload duration, chunk upload errors, cleanup) plus bytes received, requests, PATCHes
// in flight, finalise duration, S3 requests (STORAGE=s3) and the process's defaults. Session
// gauges are read from the database at scrape time, so every instance reports the same truth,
// also after a restart.
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { UPLOAD_STATUSES } from '../../db/schema.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { UploadError } from '../../store/errors.js';
import type { UploadEvents } from '../../store/events.js';
import type { ChunkStorage } from '../../store/storage/chunk-storage.js';
import { S3ChunkStorage } from '../../store/storage/s3-storage.js';
import type { CleanupReport } from './cleanup.js';
import { registerS3Metrics } from './s3-metrics.js';

declare module 'node:http' {
  interface IncomingMessage {
    /** The error type a request was answered with, for the error metrics. */
    errorType?: string;
  }
}

const OUTCOMES = new Set(['completed', 'failed', 'cancelled', 'expired']);

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'status' | 'api'>;
  private readonly patchesInFlight: Gauge;
  private readonly chunkErrors: Counter<'reason'>;
  private readonly cleanupDuration: Histogram;
  private readonly cleanupRemoved: Counter<'kind'>;
  private readonly cleanupQuarantined: Counter<'kind'>;
  private readonly idleReleases: Counter;

  constructor(sessions: SessionRepository, events: UploadEvents, tusPath: string, storage?: ChunkStorage) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    registerUploadMetrics(registers, sessions, events);
    if (storage instanceof S3ChunkStorage) registerS3Metrics(registers, storage.requests);
    this.chunkErrors = new Counter({
      name: 'upload_chunk_errors_total',
      help: 'Failed data requests (PATCH, chunk and single-shot uploads), by error type',
      labelNames: ['reason'],
      registers,
    });
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, status and API',
      labelNames: ['method', 'status', 'api'],
      registers,
    });
    this.patchesInFlight = new Gauge({
      name: 'upload_patches_in_flight',
      help: 'Data requests being received right now',
      registers,
    });
    this.cleanupDuration = new Histogram({
      name: 'upload_cleanup_duration_seconds',
      help: 'Duration of cleanup sweeps',
      buckets: [0.01, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    this.cleanupRemoved = new Counter({
      name: 'upload_cleanup_removed_total',
      help: 'What cleanup sweeps deleted: expired sessions (their data), quarantined orphans past QUARANTINE_RETENTION',
      labelNames: ['kind'],
      registers,
    });
    this.cleanupQuarantined = new Counter({
      name: 'upload_cleanup_quarantined_total',
      help: 'Files no session or asset explains, moved into DATA_DIR/quarantine: orphan upload files, orphan asset dirs',
      labelNames: ['kind'],
      registers,
    });

    this.idleReleases = new Counter({
      name: 'upload_idle_memory_releases_total',
      help: 'Times the server gave its memory back after uploads stopped (see docs/operations.md, Memory)',
      registers,
    });

    this.tusPath = tusPath;
  }

  private readonly tusPath: string;

  observeCleanup(report: CleanupReport): void {
    this.cleanupDuration.observe(report.ms / 1000);
    this.cleanupRemoved.inc({ kind: 'expired_sessions' }, report.expired);
    this.cleanupRemoved.inc({ kind: 'quarantine_expired' }, report.quarantinePurged);
    this.cleanupRemoved.inc({ kind: 'multipart_aborted' }, report.multipartAborted);
    this.cleanupRemoved.inc({ kind: 'spool_removed' }, report.spoolsRemoved);
    this.cleanupQuarantined.inc({ kind: 'orphan_upload_files' }, report.orphanUploadFiles);
    this.cleanupQuarantined.inc({ kind: 'orphan_asset_dirs' }, report.orphanAssetDirs);
  }

  observeIdleRelease(): void {
    this.idleReleases.inc();
  }

  /** Counts every request, and data requests in flight and failed. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      const path = req.originalUrl.split('?')[0] ?? '';
      const api = path.startsWith(this.tusPath) ? 'tus' : path.startsWith('/storage/') ? 'storage' : 'other';
      const isData =
        (api === 'tus' && (req.method === 'PATCH' || req.method === 'POST')) ||
        (req.method === 'POST' && (path.endsWith('/chunk') || path === '/storage/upload'));
      if (isData) this.patchesInFlight.inc();
      res.once('close', () => {
        if (isData) {
          this.patchesInFlight.dec();
          if (res.statusCode >= 400) this.chunkErrors.inc({ reason: req.errorType ?? `http_${res.statusCode}` });
        }
        this.requests.inc({ method: req.method, status: String(res.statusCode), api });
      });
      next();
    };
  }

  /**
   * GET /metrics: behind METRICS_TOKEN when one is configured; without one, served only when the
   * server listens on loopback (the metrics tell upload volumes, owners' activity and versions).
   */
  handler(token: string | undefined, loopbackOnly: boolean) {
    return async (req: Request, res: Response) => {
      if (!token && !loopbackOnly) {
        throw new UploadError(
          'forbidden',
          'the server listens beyond loopback: set METRICS_TOKEN to scrape /metrics (with Authorization: Bearer)',
        );
      }
      if (token && !bearerMatches(req.headers.authorization, token)) {
        throw new UploadError('unauthorized', 'metrics require Authorization: Bearer <METRICS_TOKEN>', {
          'WWW-Authenticate': 'Bearer',
        });
      }
      res.type(this.registry.contentType).send(await this.registry.metrics());
    };
  }
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The upload lifecycle: sessions by status (read at scrape time), outcomes, durations, bytes. */
function registerUploadMetrics(registers: Registry[], sessions: SessionRepository, events: UploadEvents): void {
  new Gauge({
    name: 'upload_sessions',
    help: 'Upload sessions by status, from the database',
    labelNames: ['status'],
    registers,
    async collect() {
      const counts = await sessions.countByStatus();
      for (const status of UPLOAD_STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  const outcomes = new Counter({
    name: 'uploads_total',
    help: 'Uploads that ended, by outcome (completed, failed, cancelled, expired)',
    labelNames: ['outcome'],
    registers,
  });
  const duration = new Histogram({
    name: 'upload_duration_seconds',
    help: 'Time from session creation to completion',
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    registers,
  });
  const finalize = new Histogram({
    name: 'upload_finalize_duration_seconds',
    help: 'Time to finalise a fully received upload into an asset',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers,
  });
  const bytes = new Counter({ name: 'upload_bytes_received_total', help: 'Bytes durably stored', registers });
  events.on('progress', (e) => bytes.inc(e.bytes));
  events.on('status', (e) => {
    if (OUTCOMES.has(e.status)) outcomes.inc({ outcome: e.status });
  });
  events.on('finalized', (e) => {
    finalize.observe(e.ms / 1000);
    duration.observe((Date.now() - e.session.createdAt.getTime()) / 1000);
  });
}
