// GET /storage/chunked-upload/:id/events: live progress of one upload as Server-Sent Events, for
// its owner only. A reconnecting client sends Last-Event-ID (or ?last_event_id=) and gets only
// what it has not seen.
import { Router } from 'express';
import { UploadError } from '../../store/errors.js';
import type { UploadService } from '../../store/upload-service.js';
import type { ProgressFeed } from '../events/progress-feed.js';
import { principalOf } from '../http/auth.js';

export interface UploadEventRouteDeps {
  service: UploadService;
  feed: ProgressFeed;
}

function lastEventId(header: string | undefined, query: unknown): number {
  const text = header ?? (typeof query === 'string' ? query : undefined);
  if (text === undefined || text.trim() === '') return 0;
  if (!/^\d{1,15}$/.test(text.trim())) {
    throw new UploadError(
      'validation_error',
      `Last-Event-ID ${JSON.stringify(text)} is not an event id from this stream`,
    );
  }
  return Number(text.trim());
}

export function uploadEventRoutes(deps: UploadEventRouteDeps): Router {
  const router = Router();
  router.get('/:id/events', async (req, res) => {
    const session = await deps.service.get(principalOf(req).sub, String(req.params.id));
    const after = lastEventId(req.get('last-event-id'), req.query.last_event_id);
    await deps.feed.stream(res, session, after);
  });
  return router;
}
