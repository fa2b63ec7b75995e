// What runs beside the HTTP API of one server: upload events recorded for live progress and the
// bus that announces them, the webhook outbox and its delivery worker, in-process hooks, and the
// upload lifecycle log lines. Started with the server; stopped after its last request.
import type { Database } from '../../db/client.js';
import { UploadEventRepository } from '../../db/upload-event-repository.js';
import { WebhookOutboxRepository } from '../../db/webhook-outbox-repository.js';
import type { UploadService } from '../../store/upload-service.js';
import type { Config } from '../config/config.js';
import { moduleLogger } from '../ops/log-levels.js';
import type { Logger } from '../ops/logger.js';
import { type EventBus, openEventBus } from './event-bus.js';
import { EventRecorder } from './event-recorder.js';
import { attachHooks, type UploadHooks } from './hooks.js';
import { ProgressFeed } from './progress-feed.js';
import { logUploadEvents } from './upload-log.js';
import { OutboxWriter } from './webhooks/outbox-writer.js';
import { WebhookWorker } from './webhooks/worker.js';

export interface OperationsDeps {
  config: Config;
  database: Database;
  service: UploadService;
  log: Logger;
  hooks?: UploadHooks | undefined;
  /**
   * false for one-off tools (`npm run cleanup`): record events and queue webhooks for what they
   * change, and leave notifying subscribers (PostgreSQL still NOTIFYs) and delivery to the servers.
   */
  serve?: boolean;
}

export interface PruneReport {
  events: number;
  webhooks: number;
}

export interface Operations {
  feed: ProgressFeed;
  bus: EventBus;
  events: UploadEventRepository;
  outbox: WebhookOutboxRepository;
  /** Deletes upload events, and delivered or dead webhooks, older than EVENT_RETENTION. */
  prune(): Promise<PruneReport>;
  /** Ends open progress streams (their clients reconnect elsewhere with Last-Event-ID). */
  endStreams(): void;
  /** Stops listening and delivering, once the last request is done. */
  close(): Promise<void>;
}

export async function startOperations(deps: OperationsDeps): Promise<Operations> {
  const { config, database, service, log } = deps;
  const eventsLog = moduleLogger(log, 'events');
  // the event log is derived from the sessions: it may lose its last rows in a crash
  const events = new UploadEventRepository(database.relaxed);
  const outbox = new WebhookOutboxRepository(database.db);
  // LISTEN/NOTIFY needs a URL to open its own connection; without one the bus is in process
  const serve = deps.serve !== false;
  const url = database.kind === 'postgres' && serve ? config.databaseUrl : undefined;
  const bus = await openEventBus(database, url, eventsLog);
  const recorder = new EventRecorder(service.events, events, bus, eventsLog);
  const feed = new ProgressFeed({
    events,
    bus,
    heartbeatMs: config.sseHeartbeatMs,
    log: eventsLog,
    maxPerUser: config.sseMaxStreamsPerUser,
    maxPerSession: config.sseMaxStreamsPerSession,
  });
  const detachLog = logUploadEvents(service.events, moduleLogger(log, 'uploads'));
  const detachHooks = deps.hooks ? attachHooks(service.events, deps.hooks, moduleLogger(log, 'hooks')) : undefined;

  let worker: WebhookWorker | undefined;
  let writer: OutboxWriter | undefined;
  if (config.webhook) {
    const webhooksLog = moduleLogger(log, 'webhooks');
    if (!config.webhook.secret && serve)
      webhooksLog.warn('WEBHOOK_URL is set without WEBHOOK_SECRET: webhooks are not signed');
    const delivery = serve ? new WebhookWorker(outbox, config.webhook, webhooksLog) : undefined;
    worker = delivery;
    writer = new OutboxWriter(service.events, outbox, () => delivery?.kick(), webhooksLog);
  }

  return {
    feed,
    bus,
    events,
    outbox,
    async prune() {
      const before = new Date(Date.now() - config.eventRetentionMs);
      const report = { events: await events.pruneBefore(before), webhooks: await outbox.pruneBefore(before) };
      if (report.events + report.webhooks > 0) eventsLog.info(report, 'pruned old upload events and webhooks');
      return report;
    },
    endStreams: () => feed.endAll(),
    async close() {
      detachLog();
      detachHooks?.();
      feed.endAll();
      await recorder.close();
      await writer?.close();
      await worker?.close();
      await bus.close();
    },
  };
}
