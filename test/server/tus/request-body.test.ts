// requestBody over a real HTTP server and real sockets: it yields the bytes as sent, gives each
// chunk's memory back once the next is asked for, stops with a 413 past its limit, ends where it stands when asked to stop, keeps the prefix of a body whose
// client went away, and ends (rather than waiting forever) on a request already gone.

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { expect } from 'chai';
import { requestBody } from '../../../server/tus/request-body.js';
import { isUploadError } from '../../../store/errors.js';
import { waitFor } from '../../helpers/wait.js';

type Outcome = { bytes: Buffer; error?: unknown };
type Reader = (req: IncomingMessage, res: ServerResponse) => AsyncGenerator<Buffer>;

/** A server whose every request is read by `reader`; outcomes arrive in order. */
async function serve(reader: Reader): Promise<{ server: Server; port: number; outcomes: Outcome[] }> {
  const outcomes: Outcome[] = [];
  const server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    try {
      // a chunk is valid until the next is asked for: keep a copy
      for await (const chunk of reader(req, res)) parts.push(Buffer.from(chunk));
      outcomes.push({ bytes: Buffer.concat(parts) });
      res.end('ok');
    } catch (error) {
      outcomes.push({ bytes: Buffer.concat(parts), error });
      res.statusCode = 413;
      res.setHeader('Connection', 'close');
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, outcomes };
}

function rawRequest(port: number, length: number, body: Buffer) {
  const socket = connect(port, '127.0.0.1');
  socket.write(`PATCH /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${length}\r\n\r\n`);
  socket.write(body);
  return socket;
}

describe('requestBody', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('yields every byte of the body as sent', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const s = await serve((req) => requestBody(req, { limit: body.length }));
    server = s.server;
    const reply = await fetch(`http://127.0.0.1:${s.port}/`, { method: 'PATCH', body });
    expect(reply.status).to.equal(200);
    expect(s.outcomes[0]?.bytes.equals(body)).to.equal(true);
  });

  it("gives each chunk's memory back once the next one is asked for", async () => {
    const body = randomBytes(1024 * 1024);
    const seen: { chunk: Buffer; length: number }[] = [];
    const s = await serve(async function* (req) {
      for await (const chunk of requestBody(req, { limit: body.length })) {
        seen.push({ chunk, length: chunk.length });
        yield chunk;
      }
    });
    server = s.server;
    const reply = await fetch(`http://127.0.0.1:${s.port}/`, { method: 'PATCH', body });
    expect(reply.status).to.equal(200);
    expect(s.outcomes[0]?.bytes.equals(body)).to.equal(true);
    expect(seen.length).to.be.greaterThan(1);
    // every chunk but the last was released (emptied) when the reader moved past it
    for (const { chunk, length } of seen.slice(0, -1)) {
      expect(length).to.be.greaterThan(0);
      expect(chunk.length).to.equal(0);
    }
  });

  it('throws payload_too_large once the body runs past its limit', async () => {
    const s = await serve((req) => requestBody(req, { limit: 1000 }));
    server = s.server;
    const reply = await fetch(`http://127.0.0.1:${s.port}/`, { method: 'PATCH', body: randomBytes(5000) });
    expect(reply.status).to.equal(413);
    const error = s.outcomes[0]?.error;
    expect(isUploadError(error) && error.type).to.equal('payload_too_large');
    expect(s.outcomes[0]?.bytes.length).to.be.at.most(1000);
  });

  it('ends where it stands when asked to stop, without reading the rest', async () => {
    const stop = new AbortController();
    const s = await serve((req) => requestBody(req, { limit: 1e9, stop: stop.signal }));
    server = s.server;
    const first = randomBytes(1000);
    const socket = rawRequest(s.port, 1_000_000, first);
    // the first bytes arrive; the client then goes quiet, and the reader is told to stop
    await waitFor(async () => s.server.listenerCount('request') > 0 && socket.bytesWritten > 1000, {
      what: 'the request to be sent',
    });
    stop.abort();
    await waitFor(async () => s.outcomes.length === 1, { what: 'the reader to end' });
    expect(s.outcomes[0]?.error).to.equal(undefined);
    expect(first.subarray(0, s.outcomes[0]?.bytes.length).equals(s.outcomes[0]?.bytes ?? Buffer.alloc(0))).to.equal(
      true,
    );
    socket.destroy();
  });

  it('keeps the prefix of a body whose client went away', async () => {
    const s = await serve((req) => requestBody(req, { limit: 1e9 }));
    server = s.server;
    const sent = randomBytes(200_000);
    const socket = rawRequest(s.port, 1_000_000, sent);
    await once(socket, 'drain').catch(() => {});
    await new Promise<void>((resolve) => socket.end(resolve));
    socket.destroy();
    await waitFor(async () => s.outcomes.length === 1, { what: 'the reader to end' });
    const got = s.outcomes[0]?.bytes ?? Buffer.alloc(0);
    expect(s.outcomes[0]?.error).to.equal(undefined);
    expect(got.length).to.be.at.most(sent.length);
    expect(got.equals(sent.subarray(0, got.length))).to.equal(true);
  });

  it('ends at once on a request that was gone before reading started', async () => {
    let started = false;
    const s = await serve(async function* (req, res) {
      req.on('error', () => {});
      const closed = new Promise((resolve) => req.once('close', resolve));
      res.socket?.destroy();
      // every close event has been and gone before the reader starts listening
      await closed;
      started = true;
      yield* requestBody(req, { limit: 1e9 });
    });
    server = s.server;
    const socket = rawRequest(s.port, 1_000_000, randomBytes(100));
    socket.on('error', () => {});
    await waitFor(async () => s.outcomes.length === 1, { what: 'the reader to end', timeoutMs: 5000 });
    expect(started).to.equal(true);
    socket.destroy();
  });
});
