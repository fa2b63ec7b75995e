// Ports for tests of a server that is not there.
import { once } from 'node:events';
import net from 'node:net';

/** A port nothing listens on (listened on once, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
