// Liveness and readiness. /readyz answers 503 when the database, the data directory or the object
// storage (STORAGE=s3) is unusable, which includes a data directory too full to take another chunk.
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { Router } from 'express';
import type { Database } from '../../db/client.js';
import type { ChunkStorage } from '../../store/storage/chunk-storage.js';
import type { StorageLayout } from '../../store/storage/layout.js';

/** Below this much free space an instance takes no new work: a chunk (20 MiB at most) must fit. */
const MIN_FREE_BYTES = 64 * 1024 * 1024;

export function healthRoutes(database: Database, layout: StorageLayout, storage?: ChunkStorage): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const problems: string[] = [];
    await database.ping().catch(() => problems.push('database unreachable'));
    await access(layout.uploadsDir, constants.W_OK).catch(() => problems.push('data directory not writable'));
    const disk = await statfs(layout.uploadsDir).catch(() => undefined);
    if (disk && disk.bavail * disk.bsize < MIN_FREE_BYTES) problems.push('data directory almost full');
    await storage?.ping?.().catch(() => problems.push('object storage unreachable'));
    if (problems.length > 0) {
      res.status(503).json({ error: 'unavailable', message: problems.join('; ') });
      return;
    }
    res.json({ status: 'ready', database: database.kind });
  });
  return router;
}
