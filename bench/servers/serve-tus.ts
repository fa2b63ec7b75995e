// How both stock servers are served: a @tus/server mounted on a plain node:http server at PORT and
// HOST, printing one JSON line once it listens and closing on SIGTERM.
import http from 'node:http';
import type { Server } from '@tus/server';

export function serveTus(tus: Server, name: string): void {
  const port = Number(process.env.PORT ?? 0);
  const host = process.env.HOST ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    tus.handle(req, res).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.listen(port, host, () => {
    const address = server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    console.log(JSON.stringify({ msg: 'listening', server: name, port: actual }));
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
