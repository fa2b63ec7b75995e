// A TCP proxy in front of a real service (PostgreSQL, an S3 gateway) that a test can close,
// cutting every connection, reopen, or set to answer every new connection with a fixed HTTP
// response: real outages of a real dependency, without stopping the service other tests share.
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** While set, new connections get this raw HTTP response instead of the service. */
  private canned: string | undefined;
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    this.canned = undefined;
    if (this.server) return;
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Cuts the open connections; new ones are answered with `response` and closed. */
  answerWith(response: string): void {
    this.canned = response;
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(client: net.Socket): void {
    this.track(client);
    const canned = this.canned;
    if (canned !== undefined) {
      // answer once the request has started arriving, as a server would
      client.once('data', () => client.end(canned));
      client.on('error', () => client.destroy());
      return;
    }
    const upstream = this.track(net.connect(this.targetPort, this.host));
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    return socket;
  }
}

/** S3's throttling answer, as a gateway under load sends it. */
export function s3SlowDown(): string {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>' +
    '<Message>Please reduce your request rate.</Message></Error>';
  return (
    'HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
