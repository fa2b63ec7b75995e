// A request body as an async iterable of the socket's own Buffers: no copy, no intermediate
// streams, backpressure through pause/resume. Each Buffer is valid until the next one is asked
// for: its memory is given back then (buffer-release.ts), so the consumer copies what it keeps.
// It ends early, without destroying the request, when asked to stop (so the handler can still
// answer) or when the client goes away (so the bytes that did arrive can be kept). More bytes than
// allowed is a 413.
import type { IncomingMessage } from 'node:http';
import { UploadError } from '../../store/errors.js';
import { releaseBuffer } from '../ops/buffer-release.js';

// chunks queued before the socket is paused: enough to keep the writer fed between reads
const HIGH_WATER_CHUNKS = 4;

export interface BodyOptions {
  /** The most bytes the body may carry. */
  limit: number;
  /** Ends the body where it stands. */
  stop?: AbortSignal;
}

export async function* requestBody(req: IncomingMessage, options: BodyOptions): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const onData = (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length >= HIGH_WATER_CHUNKS) req.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    // ECONNRESET is the client going away, as above; anything else fails the body
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') ended = true;
    else failure = error;
    notify();
  };
  req.on('data', onData);
  req.once('end', onEnd);
  // a client that goes away mid-body: what arrived is a prefix of what it sent, and is kept
  req.once('close', onEnd);
  // a body the HTTP parser gives up on (a malformed chunk size) ends only with its socket
  const socket = req.socket;
  socket.once('close', onEnd);
  req.once('error', onError);
  options.stop?.addEventListener('abort', notify);
  try {
    let received = 0;
    for (;;) {
      if (options.stop?.aborted) return;
      const chunk = queue.shift();
      if (chunk) {
        received += chunk.length;
        if (received > options.limit) {
          throw new UploadError('payload_too_large', `the body carries more than the ${options.limit} bytes it may`);
        }
        yield chunk;
        releaseBuffer(chunk);
        continue;
      }
      if (failure !== undefined) throw failure;
      // `destroyed`: the request was gone before this reader started listening
      if (ended || req.destroyed) return;
      req.resume();
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onEnd);
    socket.off('close', onEnd);
    req.off('error', onError);
    options.stop?.removeEventListener('abort', notify);
    // leave the rest unread; the error handler decides whether to drain or close
    req.pause();
  }
}
