// A Server-Sent Events client over fetch, for tests: collects events and comments as they come,
// waits for one with a deadline, and tells when the server closed the stream.
import { expect } from 'chai';
import { waitFor } from './wait.js';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: Record<string, unknown>;
}

export interface SseStream {
  status: number;
  headers: Headers;
  events: SseEvent[];
  comments: string[];
  /** True once the server ended the stream. */
  readonly ended: boolean;
  /** Waits until an event satisfies `match` and returns it. */
  next(match: (e: SseEvent) => boolean, what?: string, timeoutMs?: number): Promise<SseEvent>;
  /** Waits for the server to end the stream. */
  waitEnded(timeoutMs?: number): Promise<void>;
  /** Disconnects from our side. */
  close(): void;
}

export async function openEventStream(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let ended = false;
  if (response.ok && response.body) {
    const body = response.body.pipeThrough(new TextDecoderStream());
    void (async () => {
      let buffer = '';
      try {
        for await (const text of body) {
          buffer += text;
          for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
            parseBlock(buffer.slice(0, cut), events, comments);
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch {
        // aborted by close()
      } finally {
        ended = true;
      }
    })();
  } else {
    ended = true;
  }
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    get ended() {
      return ended;
    },
    next: (match, what = 'an event', timeoutMs = 20_000) =>
      waitFor(
        () => events.find(match) ?? (ended ? Promise.reject(new Error(`stream ended before ${what}`)) : undefined),
        {
          timeoutMs,
          what,
        },
      ),
    waitEnded: async (timeoutMs = 20_000) => {
      await waitFor(() => ended, { timeoutMs, what: 'the end of the event stream' });
    },
    close: () => abort.abort(),
  };
}

function parseBlock(block: string, events: SseEvent[], comments: string[]): void {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) comments.push(line.slice(1).trim());
    else if (line.startsWith('id: ')) id = line.slice(4);
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  if (data.length > 0) events.push({ id, event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
}

/** Event ids as numbers, checking each event has one. */
export function idsOf(events: SseEvent[]): number[] {
  return events.map((e) => {
    expect(e.id, `${e.event} has an id`).to.be.a('string');
    return Number(e.id);
  });
}
