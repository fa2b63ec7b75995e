// Start-up repair of what a crash can leave behind: a finalise that stopped half-way (finished
// now, or the session marked failed when its data is gone), and a recorded offset beyond the
// bytes actually on disk (set back to the last chunk the file still holds), and a final upload whose
// parts all finished while its join never ran.
import type { SessionRepository } from '../../db/session-repository.js';
import { isUploadError } from '../errors.js';
import type { ChunkStorage } from '../storage/chunk-storage.js';
import type { UploadService } from '../upload-service.js';

export interface RecoveryReport {
  finalized: number;
  failed: number;
  reset: number;
}

export interface RecoveryLog {
  warn(obj: object, msg: string): void;
}

export async function recoverUploads(
  service: UploadService,
  sessions: SessionRepository,
  storage: ChunkStorage,
  log: RecoveryLog,
): Promise<RecoveryReport> {
  const report: RecoveryReport = { finalized: 0, failed: 0, reset: 0 };
  for (const session of await sessions.findActive()) {
    if (session.assetId) continue;
    const size = await storage.storedLength(session.id);
    if (size === undefined && session.uploadOffset > 0) {
      // a session that cannot be marked failed now is looked at again at the next start
      await service.fail(session, 'its data file is missing').catch(() => {});
      log.warn({ upload_id: session.id }, 'upload data file missing; session marked failed');
      report.failed++;
      continue;
    }
    if (size === undefined || size >= session.uploadOffset) continue;
    // keep the chunks that lie wholly inside what the file still holds
    const keptChunks = Math.floor(size / session.chunkSize);
    const chunks = Object.fromEntries(Object.entries(session.chunks).filter(([n]) => Number(n) <= keptChunks));
    await sessions.resetProgress(session.id, keptChunks * session.chunkSize, chunks);
    log.warn(
      { upload_id: session.id, recorded: session.uploadOffset, on_disk: size },
      'offset set back to the data on disk',
    );
    report.reset++;
  }
  for (const session of await sessions.findUnfinalized()) {
    try {
      await service.repairFinalize(session);
      report.finalized++;
    } catch (error) {
      // another instance holds the upload: it is finishing it right now
      if (isUploadError(error) && error.type === 'locked') continue;
      const message = error instanceof Error ? error.message : String(error);
      await service.fail(session, `finalising failed after a restart: ${message}`).catch(() => {});
      log.warn({ upload_id: session.id, err: message }, 'could not finish an interrupted finalise');
      report.failed++;
    }
  }
  for (const session of await sessions.findActive()) {
    if (session.concat !== 'final') continue;
    // does nothing while a part is still receiving bytes
    await service.joinFinal(session.ownerId, session.id).catch((error: unknown) => {
      log.warn({ upload_id: session.id, err: String(error) }, 'could not join a final upload after a restart');
    });
  }
  return report;
}
