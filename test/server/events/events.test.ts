// Live progress over Server-Sent Events: events per chunk and per status change, the final
// event and the end of the stream, Last-Event-ID resumption without gaps or repeats, access
// rules, heartbeats, no subscriptions left behind, and streams ended on a graceful stop.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { bearer, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { idsOf, openEventStream, type SseEvent } from '../../helpers/sse.js';
import { StorageApi } from '../../helpers/storage-api.js';
import { createUpload, patchUpload, tusRequest } from '../../helpers/tus-http.js';
import { waitFor } from '../../helpers/wait.js';

const MiB = 1024 * 1024;
const CHUNK = 5 * MiB;

const eventsUrl = (server: { url: string }, id: string) => `${server.url}/storage/chunked-upload/${id}/events`;
const of = (type: string) => (e: SseEvent) => e.event === type;

describe('live progress events (SSE)', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ CHUNK_SIZE: '5MiB', SSE_HEARTBEAT: '100ms' });
  });
  after(async () => {
    await server?.stop();
  });

  it('streams progress per chunk as PATCHes arrive and ends with completed and the asset id', async () => {
    const owner = uniqueOwner('sse');
    const data = randomBytes(12 * MiB);
    const upload = await createUpload(server.tusUrl, { owner, length: data.length });
    const stream = await openEventStream(eventsUrl(server, upload.id), bearer(owner));
    expect(stream.status).to.equal(200);
    expect(stream.headers.get('content-type')).to.match(/^text\/event-stream/);
    const created = await stream.next(of('created'), 'created');
    expect(created.data).to.include({ upload_id: upload.id, status: 'initiated', offset: 0, length: data.length });

    let assetId: string | null = null;
    for (let at = 0; at < data.length; at += CHUNK) {
      const end = Math.min(at + CHUNK, data.length);
      const reply = await patchUpload(upload.url, at, data.subarray(at, end), { owner });
      expect(reply.status, reply.body).to.equal(204);
      assetId = reply.headers.get('upload-asset-id') ?? assetId;
      // each PATCH is reported before the next one is sent: the stream is live
      await stream.next((e) => e.event === 'progress' && e.data.offset === end, `progress to ${end}`);
    }
    const completed = await stream.next(of('completed'), 'completed');
    await stream.waitEnded();

    expect(assetId).to.be.a('string');
    expect(completed.data).to.include({ status: 'completed', asset_id: assetId, size: data.length, percent: 100 });
    const progress = stream.events.filter(of('progress'));
    expect(progress.map((e) => e.data.offset)).to.deep.equal([CHUNK, 2 * CHUNK, data.length]);
    expect(progress.map((e) => e.data.chunks)).to.deep.equal([[1], [2], [3]]);
    const percents = progress.map((e) => Number(e.data.percent));
    expect(percents).to.deep.equal([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).to.equal(100);
    const ids = idsOf(stream.events);
    expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('reports REST chunks by number, in the order they arrive', async () => {
    const owner = uniqueOwner('sse-rest');
    const api = new StorageApi(server.url, owner);
    const data = randomBytes(2 * CHUNK + 1000);
    const session = await api.initiate({ file_size: data.length, chunk_size: CHUNK });
    const stream = await openEventStream(eventsUrl(server, session.session_id), bearer(owner));
    await api.sendAll(session.session_id, data, CHUNK, [3, 1, 2]);
    const asset = await api.complete(session.session_id);
    await stream.waitEnded();
    const progress = stream.events.filter(of('progress'));
    expect(progress.map((e) => e.data.chunks)).to.deep.equal([[3], [1], [2]]);
    expect(progress.map((e) => e.data.offset)).to.deep.equal([0, CHUNK, data.length]);
    expect(stream.events.at(-1)).to.deep.include({ event: 'completed' });
    expect(stream.events.at(-1)?.data).to.include({ asset_id: asset.asset_id, sha256: asset.sha256 });
  });

  it('resumes after Last-Event-ID with only the later events, missing none', async () => {
    const owner = uniqueOwner('sse-resume');
    const data = randomBytes(2 * CHUNK);
    const upload = await createUpload(server.tusUrl, { owner, length: data.length });
    const first = await openEventStream(eventsUrl(server, upload.id), bearer(owner));
    await patchUpload(upload.url, 0, data.subarray(0, CHUNK), { owner });
    const seen = await first.next(of('progress'), 'first progress');
    first.close();
    await patchUpload(upload.url, CHUNK, data.subarray(CHUNK), { owner });

    const second = await openEventStream(eventsUrl(server, upload.id), {
      ...bearer(owner),
      'Last-Event-ID': String(seen.id),
    });
    await second.waitEnded();
    const later = idsOf(second.events);
    expect(later.every((id) => id > Number(seen.id))).to.equal(true);
    expect(second.events.map((e) => e.event)).to.deep.equal(['progress', 'completed']);

    // what both connections saw is exactly the whole history
    const replay = await openEventStream(eventsUrl(server, upload.id), bearer(owner));
    await replay.waitEnded();
    const before = idsOf(first.events).filter((id) => id <= Number(seen.id));
    expect([...before, ...later]).to.deep.equal(idsOf(replay.events));
    expect(replay.events.map((e) => e.event)).to.deep.equal(['created', 'progress', 'progress', 'completed']);

    const query = await openEventStream(`${eventsUrl(server, upload.id)}?last_event_id=${seen.id}`, bearer(owner));
    await query.waitEnded();
    expect(idsOf(query.events)).to.deep.equal(later);
  });

  it('is for the owner only: 401 without a token, 403 for others, 404 unknown, 400 bad Last-Event-ID', async () => {
    const owner = uniqueOwner('sse-owner');
    const upload = await createUpload(server.tusUrl, { owner, length: 10 });
    const url = eventsUrl(server, upload.id);
    expect((await fetch(url)).status).to.equal(401);
    const other = await fetch(url, { headers: bearer(uniqueOwner('mallory')) });
    expect(other.status).to.equal(403);
    expect(await other.json()).to.include({ error: 'forbidden' });
    const unknown = await fetch(eventsUrl(server, randomBytes(16).toString('hex')), { headers: bearer(owner) });
    expect(unknown.status).to.equal(404);
    const bad = await fetch(url, { headers: { ...bearer(owner), 'Last-Event-ID': 'yesterday' } });
    expect(bad.status).to.equal(400);
    expect(await bad.json()).to.include({ error: 'validation_error' });
  });

  it('sends pause and resume as status events and ends with cancelled', async () => {
    const owner = uniqueOwner('sse-cancel');
    const api = new StorageApi(server.url, owner);
    const session = await api.initiate({ file_size: 100 });
    const stream = await openEventStream(eventsUrl(server, session.session_id), bearer(owner));
    await api.action(session.session_id, 'pause');
    await api.action(session.session_id, 'resume');
    await api.action(session.session_id, 'cancel');
    await stream.waitEnded();
    expect(stream.events.map((e) => [e.event, e.data.status])).to.deep.equal([
      ['created', 'initiated'],
      ['status', 'paused'],
      ['status', 'uploading'],
      ['cancelled', 'cancelled'],
    ]);
  });

  it('ends with failed when the bytes do not match the declared sha256', async () => {
    const owner = uniqueOwner('sse-failed');
    const upload = await createUpload(server.tusUrl, {
      owner,
      length: 10,
      metadata: { filename: 'x.bin', sha256: '0'.repeat(64) },
    });
    const stream = await openEventStream(eventsUrl(server, upload.id), bearer(owner));
    await patchUpload(upload.url, 0, randomBytes(10), { owner });
    const failed = await stream.next(of('failed'), 'failed');
    expect(String(failed.data.error)).to.match(/sha256/);
    await stream.waitEnded();
  });

  it('sends heartbeats and drops the subscription when the client goes away', async () => {
    const owner = uniqueOwner('sse-leak');
    const upload = await createUpload(server.tusUrl, { owner, length: 10 });
    const streams = await Promise.all(
      [1, 2, 3].map(() => openEventStream(eventsUrl(server, upload.id), bearer(owner))),
    );
    await waitFor(() => streams.every((s) => s.comments.includes('heartbeat')), { what: 'heartbeats' });
    expect(server.operations.feed.streamCount).to.equal(3);
    // the three streams of one upload share one reader, subscribed once
    expect(server.operations.feed.sessionsWatched).to.equal(1);
    expect(server.operations.bus.subscriberCount).to.equal(1);
    for (const stream of streams) stream.close();
    await waitFor(
      () =>
        server.operations.feed.streamCount === 0 &&
        server.operations.feed.sessionsWatched === 0 &&
        server.operations.bus.subscriberCount === 0,
      { what: 'subscriptions to be dropped' },
    );
    await tusRequest('DELETE', upload.url, { owner });
  });

  it('ends with expired when the cleanup sweep expires the upload', async () => {
    const short = await startTestServer({ SESSION_TTL: '300ms' });
    try {
      const owner = uniqueOwner('sse-expired');
      const upload = await createUpload(short.tusUrl, { owner, length: 10 });
      const stream = await openEventStream(eventsUrl(short, upload.id), bearer(owner));
      await waitFor(
        async () => {
          await short.cleanup();
          return stream.events.some(of('expired'));
        },
        { what: 'the expired event', intervalMs: 100 },
      );
      await stream.waitEnded();
    } finally {
      await short.stop();
    }
  });

  it('ends open streams on a graceful stop instead of waiting for them', async () => {
    const stopping = await startTestServer({ SHUTDOWN_GRACE: '30s' });
    const owner = uniqueOwner('sse-stop');
    const upload = await createUpload(stopping.tusUrl, { owner, length: 10 });
    const stream = await openEventStream(eventsUrl(stopping, upload.id), bearer(owner));
    await stream.next(of('created'));
    const started = Date.now();
    await stopping.stop();
    expect(Date.now() - started).to.be.below(10_000);
    await stream.waitEnded();
  });
});
