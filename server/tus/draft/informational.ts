// 104 (Upload Resumption Supported) informational responses, written on the connection before the
// final response, the way node writes its own 103 Early Hints. Only to HTTP/1.1 clients (HTTP/1.0
// has no informational responses), and only until the final response has started.
import type { ServerResponse } from 'node:http';

interface RawWriter {
  _writeRaw?: (data: string, encoding: BufferEncoding) => boolean;
}

export function sendUploadResumptionSupported(res: ServerResponse, headers: Record<string, string>): void {
  if (res.headersSent || res.writableEnded || res.req.httpVersion === '1.0') return;
  // values come from the server itself; a line break would still end the block early
  const lines = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value.replace(/[\r\n]/g, '')}\r\n`)
    .join('');
  (res as unknown as RawWriter)._writeRaw?.(`HTTP/1.1 104 Upload Resumption Supported\r\n${lines}\r\n`, 'latin1');
}
