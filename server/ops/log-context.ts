// The request a log line is written for, carried through async calls, so every line logged while
// serving a request names its request id, and its owner and upload id when known.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';

const current = new AsyncLocalStorage<IncomingMessage>();
/** Upload ids are 32 hex digits (asset ids are UUIDs with dashes and never match). */
const UPLOAD_ID_SEGMENT = /\/([0-9a-f]{32})(?=[/?]|$)/i;

/** Runs `fn` (the rest of the request's middleware) with `req` as the request of its log lines. */
export function runWithRequest<T>(req: IncomingMessage, fn: () => T): T {
  return current.run(req, fn);
}

/** pino mixin: request id, owner and upload id of the request being served, if any. */
export function requestLogFields(): Record<string, string> {
  const req = current.getStore();
  if (!req) return {};
  const fields: Record<string, string> = {};
  if (req.requestId) fields.req_id = req.requestId;
  const owner = req.principal?.sub;
  if (owner) fields.owner = owner;
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const upload = UPLOAD_ID_SEGMENT.exec(url)?.[1];
  if (upload) fields.upload_id = upload;
  return fields;
}
