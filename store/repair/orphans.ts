// Finds files on disk that nothing owns any more, upload data files whose session is gone or
// finished and asset directories with neither an asset row nor a finalise in progress, and moves
// them into the quarantine (never deletes them: the sweep did not create them as far as it can
// tell, and a database that does not know a file is not proof the file is worthless).
// Only files older than a grace period are touched, so a creation or a finalise that is between
// writing its file and committing its row is never mistaken for an orphan.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AssetRepository } from '../../db/asset-repository.js';
import type { SessionRepository } from '../../db/session-repository.js';
import { ACTIVE_STATUSES } from '../../db/status.js';
import { isValidUploadId, type StorageLayout } from '../storage/layout.js';
import type { Quarantine } from './quarantine.js';

export interface OrphanReport {
  uploadFiles: number;
  assetDirs: number;
  /** Where they went: paths relative to DATA_DIR, in quarantine/<sweep time>/. */
  quarantined: string[];
  /** Orphans that could not be moved (left in place), with the reason. */
  failed: { path: string; error: string }[];
}

const BATCH = 500;

export async function quarantineOrphans(
  layout: StorageLayout,
  sessions: SessionRepository,
  assets: AssetRepository,
  quarantine: Quarantine,
  olderThan: Date,
): Promise<OrphanReport> {
  const report: OrphanReport = { uploadFiles: 0, assetDirs: 0, quarantined: [], failed: [] };
  const sweepDir = quarantine.sweepDir(new Date());
  const hold = async (relative: string): Promise<boolean> => {
    try {
      const to = await quarantine.hold(sweepDir, relative);
      report.quarantined.push(path.relative(layout.dataDir, to));
      return true;
    } catch (error) {
      // gone meanwhile is fine; anything else stays where it is and is reported
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        report.failed.push({ path: relative, error: String(error) });
      return false;
    }
  };

  const uploadNames = await oldEntries(layout.uploadsDir, olderThan);
  for (const batch of batches(uploadNames, BATCH)) {
    const live = new Set(
      (await sessions.findMany(batch.filter(isValidUploadId)))
        .filter((s) => ACTIVE_STATUSES.includes(s.status))
        .map((s) => s.id),
    );
    for (const name of batch) {
      if (!live.has(name) && (await hold(path.join('uploads', name)))) report.uploadFiles++;
    }
  }

  for (const owner of await readdir(layout.assetsDir).catch(() => [] as string[])) {
    const ownerDir = path.join(layout.assetsDir, owner);
    const ids = await oldEntries(ownerDir, olderThan);
    for (const batch of batches(ids, BATCH)) {
      const uuids = batch.filter((id) => /^[0-9a-f-]{36}$/.test(id));
      const known = new Set([
        ...(await assets.findMany(uuids)).map((a) => a.id),
        ...(await sessions.findByAssetIds(uuids)).map((s) => s.assetId),
      ]);
      for (const id of batch) {
        if (!known.has(id) && (await hold(path.join('assets', owner, id)))) report.assetDirs++;
      }
    }
  }
  return report;
}

async function oldEntries(dir: string, olderThan: Date): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const old: string[] = [];
  for (const name of names) {
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    if (info && info.mtime < olderThan) old.push(name);
  }
  return old;
}

function* batches<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
