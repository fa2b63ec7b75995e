// The cleanup sweep: expire unfinished sessions whose last byte is older than SESSION_TTL
// (deleting their data), then remove orphaned files. One instance at a time runs it, whatever
// the number of instances, by holding a database-wide lease for the duration.
import { schedule } from 'node-cron';
import type { AssetRepository } from '../db/asset-repository.js';
import type { Database } from '../db/client.js';
import type { SessionRepository } from '../db/session-repository.js';
import { removeOrphans } from '../store/orphans.js';
import type { StorageLayout } from '../store/storage/layout.js';
import type { UploadService } from '../store/upload-service.js';
import type { Logger } from './logger.js';

export interface CleanupDeps {
  database: Database;
  service: UploadService;
  sessions: SessionRepository;
  assets: AssetRepository;
  layout: StorageLayout;
  log: Logger;
  /** Files younger than this are never treated as orphans. */
  orphanGraceMs: number;
  onReport?: (report: CleanupReport) => void;
  /** Extra housekeeping run inside the same lease (old upload events and webhooks). */
  prune?: () => Promise<unknown>;
}

export interface CleanupReport {
  expired: number;
  orphanUploadFiles: number;
  orphanAssetDirs: number;
  ms: number;
}

export const CLEANUP_LEASE = 'upload-cleanup';

/** Runs one sweep; undefined when another instance is sweeping right now. */
export async function runCleanup(deps: CleanupDeps): Promise<CleanupReport | undefined> {
  const report = await deps.database.exclusive(CLEANUP_LEASE, async () => {
    const started = performance.now();
    const expired = await deps.service.expireStale();
    const orphans = await removeOrphans(
      deps.layout,
      deps.sessions,
      deps.assets,
      new Date(Date.now() - deps.orphanGraceMs),
    );
    await deps.prune?.();
    return {
      expired,
      orphanUploadFiles: orphans.uploadFiles,
      orphanAssetDirs: orphans.assetDirs,
      ms: Math.round(performance.now() - started),
    };
  });
  if (report) {
    deps.log.info(report, 'cleanup sweep');
    deps.onReport?.(report);
  } else deps.log.debug('cleanup sweep skipped: another instance holds the lease');
  return report;
}

export function scheduleCleanup(cron: string, deps: CleanupDeps): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const task = schedule(cron, () => {
    running = runCleanup(deps).catch((error: unknown) => deps.log.error({ err: error }, 'cleanup sweep failed'));
    return running;
  });
  return {
    async stop() {
      await task.stop();
      await running;
    },
  };
}
