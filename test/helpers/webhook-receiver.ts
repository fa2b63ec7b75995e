// A small HTTP receiver for webhook tests: records each delivery (headers and raw body), answers
// 204 or a chosen failure status, and can be stopped and started again on the same port.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; occurred_at: string; sent_at: string; attempt: number; data: WebhookData };
  status: number;
}

export interface WebhookData {
  upload: Record<string, unknown> & { id: string };
  asset?: Record<string, unknown>;
}

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** Status answered to every delivery (204: accepted). */
  answer = 204;
  /** Time taken before answering, to make deliveries overlap. */
  delayMs = 0;
  private server: http.Server | undefined;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8');
        const status = this.answer;
        this.deliveries.push({ headers: req.headers, raw, body: JSON.parse(raw) as Delivery['body'], status });
        setTimeout(() => res.writeHead(status).end(), this.delayMs);
      });
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: deliveries meet a refused connection until start() again. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Accepted deliveries about upload `id`. */
  accepted(id: string): Delivery[] {
    return this.deliveries.filter((d) => d.status < 300 && d.body.data.upload.id === id);
  }

  /** Every delivery attempt about upload `id`, accepted or not. */
  attempts(id: string): Delivery[] {
    return this.deliveries.filter((d) => d.body.data.upload.id === id);
  }
}
