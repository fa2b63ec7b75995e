// Attacks on shared resources (#14, finding 8): one user opening progress streams without end (each
// a socket, timers and database reads), and a stranger scraping /metrics on a server reachable
// from the network. Each case is refused with the answer it must get, and leaves the uploads as
// they were.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { UploadEventRow } from '../../db/schema.js';
import { LogCapture, startServerWith } from '../helpers/log-capture.js';
import { bearer, expectError, type Reply, uniqueOwner } from '../helpers/rest.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openEventStream, type SseStream } from '../helpers/sse.js';
import { StorageApi } from '../helpers/storage-api.js';
import { type StorageView, snapshotUpload } from '../helpers/uploads.js';
import { waitFor } from '../helpers/wait.js';

const PER_USER = 32;
const PER_SESSION = 8;

const eventsUrl = (server: TestServer, id: string) => `${server.url}/storage/chunked-upload/${id}/events`;

async function refusedStream(server: TestServer, owner: string, id: string): Promise<Reply> {
  const res = await fetch(eventsUrl(server, id), { headers: { ...bearer(owner), Accept: 'text/event-stream' } });
  if (res.ok) {
    // admitted: a stream that would never end; the test fails on its status
    await res.body?.cancel();
    return { status: res.status, headers: res.headers, text: '' };
  }
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function expectTooMany(reply: Reply, setting: string): void {
  expect(expectError(reply, 429, 'rate_limited')).to.include(setting);
  expect(Number(reply.headers.get('retry-after'))).to.be.greaterThan(0);
}

describe('security: bounded resources', () => {
  describe('progress streams (defaults: 32 per user, 8 per upload)', () => {
    let server: TestServer;
    let view: StorageView;
    const open: SseStream[] = [];
    before(async () => {
      server = await startTestServer({ SSE_HEARTBEAT: '100ms' });
      view = server;
    });
    afterEach(() => {
      for (const stream of open.splice(0)) stream.close();
    });
    after(async () => {
      await server?.stop();
    });

    async function streams(owner: string, id: string, count: number): Promise<void> {
      const opened = await Promise.all(
        Array.from({ length: count }, () => openEventStream(eventsUrl(server, id), bearer(owner))),
      );
      open.push(...opened);
      for (const stream of opened) expect(stream.status).to.equal(200);
    }

    it(`refuses stream ${PER_SESSION + 1} on one upload with 429 and Retry-After, and admits one once another closes`, async () => {
      const owner = uniqueOwner('sse-session');
      const api = new StorageApi(server.url, owner);
      const { session_id: id } = await api.initiate({ file_size: 100 });
      const before = await snapshotUpload(view, id);
      await streams(owner, id, PER_SESSION);
      expectTooMany(await refusedStream(server, owner, id), 'SSE_MAX_STREAMS_PER_SESSION');
      expect(server.operations.feed.streamCount).to.equal(PER_SESSION);
      open.pop()?.close();
      await waitFor(() => server.operations.feed.streamCount === PER_SESSION - 1, { what: 'the stream to close' });
      await streams(owner, id, 1);
      expect(await snapshotUpload(view, id)).to.deep.equal(before);
    });

    it(`refuses a user's stream ${PER_USER + 1} (and the issue's 121st) across uploads, not another user's`, async () => {
      const owner = uniqueOwner('sse-user');
      const api = new StorageApi(server.url, owner);
      const ids: string[] = [];
      for (let i = 0; i < PER_USER / PER_SESSION + 1; i++)
        ids.push((await api.initiate({ file_size: 100 })).session_id);
      for (const id of ids.slice(0, -1)) await streams(owner, id, PER_SESSION);
      const last = ids.at(-1) ?? '';
      const before = await snapshotUpload(view, last);
      for (let attempt = PER_USER + 1; attempt <= 121; attempt += 44) {
        expectTooMany(await refusedStream(server, owner, last), 'SSE_MAX_STREAMS_PER_USER');
      }
      expect(server.operations.feed.streamCount).to.equal(PER_USER);
      expect(await snapshotUpload(view, last)).to.deep.equal(before);

      const other = uniqueOwner('sse-other');
      const { session_id: theirs } = await new StorageApi(server.url, other).initiate({ file_size: 100 });
      await streams(other, theirs, 1);
    });

    it('reads the database once per heartbeat for an upload, however many streams watch it', async () => {
      const owner = uniqueOwner('sse-poll');
      const api = new StorageApi(server.url, owner);
      const { session_id: id } = await api.initiate({ file_size: 100 });
      await streams(owner, id, 6);
      const watched = open.slice(-6);
      await waitFor(() => watched.every((s) => s.comments.length > 0), { what: 'a first heartbeat on every stream' });

      const events = server.operations.events;
      const listAfter = events.listAfter.bind(events);
      let reads = 0;
      events.listAfter = (sessionId: string, afterId: number, limit?: number): Promise<UploadEventRow[]> => {
        if (sessionId === id) reads++;
        return listAfter(sessionId, afterId, limit);
      };
      try {
        const from = watched.map((s) => s.comments.length);
        await waitFor(() => watched.every((s, i) => s.comments.length - (from[i] ?? 0) >= 5), {
          what: 'five more heartbeats on every stream',
        });
        const beats = Math.max(...watched.map((s, i) => s.comments.length - (from[i] ?? 0)));
        // one read per heartbeat of the upload's shared reader; six per heartbeat if each stream polled
        expect(reads).to.be.within(1, beats + 2);
      } finally {
        events.listAfter = listAfter;
      }
      expect(server.operations.feed.sessionsWatched).to.equal(1);

      // the shared reader still brings every new event to every stream
      await api.chunk(id, 1, randomBytes(100));
      for (const stream of watched) await stream.next((e) => e.event === 'progress', 'progress');
    });
  });

  describe('/metrics', () => {
    const TOKEN = 'metrics-token-0123456789';

    it('refuses an unauthenticated scrape when HOST is not loopback, and warns at start', async () => {
      const capture = new LogCapture('warn');
      const server = await startServerWith({ HOST: '0.0.0.0' }, { log: capture.log });
      try {
        const reply = await fetch(`${server.url}/metrics`);
        expect(reply.status).to.equal(403);
        const body = (await reply.json()) as { error: string; message: string };
        expect(body.error).to.equal('forbidden');
        expect(body.message).to.match(/set METRICS_TOKEN/);
        expect(capture.lines.some((l) => l.level === 40 && /METRICS_TOKEN/.test(l.msg ?? ''))).to.equal(true);
      } finally {
        await server.stop();
      }
    });

    it('serves a scrape with METRICS_TOKEN on any HOST, and without one on loopback only', async () => {
      const guarded = await startTestServer({ HOST: '0.0.0.0', METRICS_TOKEN: TOKEN });
      const local = await startTestServer({ HOST: '127.0.0.1' });
      try {
        const refused = await fetch(`${guarded.url}/metrics`);
        expect(refused.status).to.equal(401);
        expect(refused.headers.get('x-error-type')).to.equal('unauthorized');
        const scraped = await fetch(`${guarded.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
        expect(scraped.status).to.equal(200);
        expect(await scraped.text()).to.include('upload_sessions');
        expect((await fetch(`${local.url}/metrics`)).status).to.equal(200);
      } finally {
        await guarded.stop();
        await local.stop();
      }
    });
  });
});
