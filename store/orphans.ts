// Finds and removes files on disk that nothing owns any more: upload data files whose session is
// gone or finished, and asset directories with neither an asset row nor a finalise in progress.
// Only files older than a grace period are touched, so a creation or a finalise that is between
// writing its file and committing its row is never mistaken for an orphan.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AssetRepository } from '../db/asset-repository.js';
import type { SessionRepository } from '../db/session-repository.js';
import { ACTIVE_STATUSES } from '../db/status.js';
import { isValidUploadId, type StorageLayout } from './storage/layout.js';

export interface OrphanReport {
  uploadFiles: number;
  assetDirs: number;
}

const BATCH = 500;

export async function removeOrphans(
  layout: StorageLayout,
  sessions: SessionRepository,
  assets: AssetRepository,
  olderThan: Date,
): Promise<OrphanReport> {
  const report: OrphanReport = { uploadFiles: 0, assetDirs: 0 };

  const uploadNames = await oldEntries(layout.uploadsDir, olderThan);
  for (const batch of batches(uploadNames, BATCH)) {
    const live = new Set(
      (await sessions.findMany(batch.filter(isValidUploadId)))
        .filter((s) => ACTIVE_STATUSES.includes(s.status))
        .map((s) => s.id),
    );
    for (const name of batch) {
      if (live.has(name)) continue;
      await rm(path.join(layout.uploadsDir, name), { force: true, recursive: true });
      report.uploadFiles++;
    }
  }

  for (const owner of await readdir(layout.assetsDir)) {
    const ownerDir = path.join(layout.assetsDir, owner);
    const ids = await oldEntries(ownerDir, olderThan);
    for (const batch of batches(ids, BATCH)) {
      const uuids = batch.filter((id) => /^[0-9a-f-]{36}$/.test(id));
      const known = new Set([
        ...(await assets.findMany(uuids)).map((a) => a.id),
        ...(await sessions.findByAssetIds(uuids)).map((s) => s.assetId),
      ]);
      for (const id of batch) {
        if (known.has(id)) continue;
        await rm(path.join(ownerDir, id), { force: true, recursive: true });
        report.assetDirs++;
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
