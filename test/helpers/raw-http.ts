// HTTP below fetch: a request whose path is sent exactly as given (no dot-segment or
// percent-encoding clean-up), and raw bytes over a TCP socket for requests no HTTP client would
// send (a lying Content-Length, both Content-Length and Transfer-Encoding, bytes past the body).
import http from 'node:http';
import net from 'node:net';

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names and values exactly as received. */
  rawHeaders: string[];
  body: string;
}

/** One request with `path` on the wire as written; `baseUrl` gives host and port only. */
export function requestRawPath(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port: Number(port),
        method,
        path,
        agent: false,
        headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(parts).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface SocketExchange {
  /** Everything the server sent before it closed the connection (or before the deadline). */
  response: string;
  /** Status codes of every response found in `response`, in order. */
  statuses: number[];
  /** True when the server closed the connection; false when the deadline passed first. */
  closedByServer: boolean;
}

/**
 * Writes `pieces` to a fresh TCP connection to `baseUrl`'s host and port, one after the other
 * (waiting `gapMs` between them when given), then reads until the server closes the connection or
 * `timeoutMs` passes, and closes it. `endAfterWrite` half-closes our side after the last piece.
 */
export async function socketExchange(
  baseUrl: string,
  pieces: Buffer[],
  options: { timeoutMs?: number; endAfterWrite?: boolean; untilStatuses?: number } = {},
): Promise<SocketExchange> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  const received: Buffer[] = [];
  let closedByServer = false;
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
  });
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('end', () => {
    closedByServer = true;
    socket.end();
  });
  socket.on('error', () => {
    closedByServer = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  for (const piece of pieces) {
    if (socket.destroyed) break;
    await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
  }
  if (options.endAfterWrite) socket.end();
  const statusesOf = () =>
    [
      ...Buffer.concat(received)
        .toString('latin1')
        .matchAll(/HTTP\/1\.1 (\d{3}) /g),
    ].map((m) => Number(m[1]));
  const deadline = Date.now() + (options.timeoutMs ?? 5_000);
  while (!socket.destroyed && Date.now() < deadline) {
    if (options.untilStatuses !== undefined && statusesOf().length >= options.untilStatuses) break;
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 20))]);
  }
  socket.destroy();
  const response = Buffer.concat(received).toString('latin1');
  return { response, statuses: statusesOf(), closedByServer };
}
