// The cleanup sweep: expire unfinished sessions whose last byte is older than SESSION_TTL
// (deleting their data, which the server wrote and their rows account for), move files nothing
// explains into the quarantine, and delete what has sat there longer than QUARANTINE_RETENTION.
// One instance at a time runs it, whatever the number of instances, by holding a database-wide
// lease for the duration.
import { schedule } from 'node-cron';
import type { AssetRepository } from '../../db/asset-repository.js';
import type { Database } from '../../db/client.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { ACTIVE_STATUSES } from '../../db/status.js';
import { quarantineOrphans } from '../../store/repair/orphans.js';
import { Quarantine } from '../../store/repair/quarantine.js';
import type { LeftoverReport } from '../../store/storage/chunk-storage.js';
import type { StorageLayout } from '../../store/storage/layout.js';
import type { UploadService } from '../../store/upload-service.js';
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
  /** Quarantined orphans are deleted once they have been there this long. */
  quarantineRetentionMs: number;
  onReport?: (report: CleanupReport) => void;
  /** Extra housekeeping run inside the same lease (old upload events and webhooks). */
  prune?: () => Promise<unknown>;
}

export interface CleanupReport {
  expired: number;
  /** Orphan upload files moved into the quarantine (not deleted). */
  orphanUploadFiles: number;
  /** Orphan asset directories moved into the quarantine (not deleted). */
  orphanAssetDirs: number;
  /** Upload files and asset directories deleted from the quarantine after QUARANTINE_RETENTION. */
  quarantinePurged: number;
  /** Object storage: multipart uploads no live session explains, aborted. */
  multipartAborted: number;
  /** Object storage: spool directories of uploads no longer receiving, deleted. */
  spoolsRemoved: number;
  ms: number;
}

/** How many quarantined paths one log line lists; the counts are always complete. */
const LOGGED_PATHS = 50;

export const CLEANUP_LEASE = 'upload-cleanup';

/** Runs one sweep; undefined when another instance is sweeping right now. */
export async function runCleanup(deps: CleanupDeps): Promise<CleanupReport | undefined> {
  const report = await deps.database.exclusive(CLEANUP_LEASE, async () => {
    const started = performance.now();
    const expired = await deps.service.expireStale();
    const quarantine = new Quarantine(deps.layout.dataDir);
    const orphans = await quarantineOrphans(
      deps.layout,
      deps.sessions,
      deps.assets,
      quarantine,
      new Date(Date.now() - deps.orphanGraceMs),
    );
    if (orphans.quarantined.length > 0) {
      deps.log.warn(
        {
          upload_files: orphans.uploadFiles,
          asset_dirs: orphans.assetDirs,
          paths: orphans.quarantined.slice(0, LOGGED_PATHS),
          more: Math.max(0, orphans.quarantined.length - LOGGED_PATHS),
        },
        'moved files no session or asset explains into the quarantine (see docs/operations.md, "Quarantine")',
      );
    }
    for (const failure of orphans.failed) {
      deps.log.error({ path: failure.path, err: failure.error }, 'could not quarantine an orphan; left in place');
    }
    const purged = await quarantine.purge(new Date(Date.now() - deps.quarantineRetentionMs));
    if (purged.sweeps > 0) deps.log.info(purged, 'deleted quarantined files past QUARANTINE_RETENTION');
    const leftovers = await sweepStorage(deps);
    await deps.prune?.();
    return {
      expired,
      multipartAborted: leftovers.aborted,
      spoolsRemoved: leftovers.spoolsRemoved,
      orphanUploadFiles: orphans.uploadFiles,
      orphanAssetDirs: orphans.assetDirs,
      quarantinePurged: purged.items,
      ms: Math.round(performance.now() - started),
    };
  });
  if (report) {
    deps.log.info(report, 'cleanup sweep');
    deps.onReport?.(report);
  } else deps.log.debug('cleanup sweep skipped: another instance holds the lease');
  return report;
}

/** The storage's own leftovers (object storage), past the same grace period as orphan files. */
async function sweepStorage(deps: CleanupDeps): Promise<LeftoverReport> {
  const storage = deps.service.storage;
  if (!storage.sweepLeftovers) return { aborted: 0, spoolsRemoved: 0 };
  const live = async (ids: string[]) =>
    new Set((await deps.sessions.findMany(ids)).filter((s) => ACTIVE_STATUSES.includes(s.status)).map((s) => s.id));
  const report = await storage.sweepLeftovers(live, new Date(Date.now() - deps.orphanGraceMs));
  if (report.aborted > 0) deps.log.warn(report, 'aborted multipart uploads no live session explains');
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
