// When a request of Node's HTTP stack is connected: Node takes a request body into a buffer before
// the connection exists (tens of KiB), which must not count as bytes sent to a server that may not
// even be there.
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpRequest } from 'tus-js-client';

export function whenConnected(request: HttpRequest, connected: () => void): void {
  const underlying = request.getUnderlyingObject() as ClientRequest | undefined;
  if (!underlying || typeof underlying.once !== 'function') {
    connected();
    return;
  }
  // a kept-alive socket is connected already
  const onSocket = (socket: Socket) => {
    if (socket.connecting) socket.once('connect', connected);
    else connected();
  };
  if (underlying.socket) onSocket(underlying.socket);
  else underlying.once('socket', onSocket);
}
