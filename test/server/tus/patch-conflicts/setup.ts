// Shared by the PATCH-conflict tests: a raw PATCH head, how a PATCH ended, a partly written
// upload, its stored bytes and a source file to compare an asset with.
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import { readRange } from '../../../helpers/files.js';
import { readBody } from '../../../helpers/integrity.js';
import type { TestServer } from '../../../helpers/server.js';
import { tokenFor, uniqueOwner } from '../../../helpers/tokens.js';
import { createUpload, type OpenPatch, patchUpload } from '../../../helpers/tus-http.js';
import { dataFileOf } from '../../../helpers/uploads.js';

export const MiB = 1024 * 1024;
export const C = 5 * MiB;

/** The request line and headers of a raw tus PATCH. */
export function patchHead(url: string, owner: string, offset: number, headers: Record<string, string>): Buffer {
  const { host, pathname } = new URL(url);
  const lines = [
    `PATCH ${pathname} HTTP/1.1`,
    `Host: ${host}`,
    'Tus-Resumable: 1.0.0',
    'Content-Type: application/offset+octet-stream',
    `Upload-Offset: ${offset}`,
    `Authorization: Bearer ${tokenFor(owner)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

export interface Ending {
  status: number | 'closed';
  offset: number | undefined;
  body: string;
}

export function endingOf(patch: OpenPatch): Promise<Ending> {
  return patch.response.then(
    async (res: IncomingMessage) => {
      const header = res.headers['upload-offset'];
      return {
        status: res.statusCode ?? 0,
        offset: typeof header === 'string' ? Number(header) : undefined,
        body: await readBody(res).catch(() => ''),
      };
    },
    () => ({ status: 'closed' as const, offset: undefined, body: '' }),
  );
}

let sources = 0;

/** The bytes as a file in `dir`, for the checks that compare an asset with its source file. */
export async function writeSource(dir: string, data: Buffer): Promise<string> {
  const file = path.join(dir, `source-${++sources}.bin`);
  await writeFile(file, data);
  return file;
}

/** An upload of `source` with its first `written` bytes stored. */
export async function partial(server: TestServer, source: Buffer, written: number) {
  const owner = uniqueOwner('lie');
  const { url, id } = await createUpload(server.tusUrl, { owner, length: source.length });
  if (written > 0) {
    const first = await patchUpload(url, 0, source.subarray(0, written), { owner });
    expect(first.status, first.body).to.equal(204);
  }
  return { owner, url, id };
}

/** Bytes [from, to) of an upload: from its data file, or from its asset once finished. */
export async function stored(server: TestServer, id: string, from: number, to: number): Promise<Buffer> {
  if (to <= from) return Buffer.alloc(0);
  const session = await server.sessions.find(id);
  const asset = session?.status === 'completed' ? await server.assets.findBySession(id) : undefined;
  const file = asset ? path.resolve(server.dataDir, asset.storagePath) : dataFileOf(server.dataDir, id);
  return readRange(file, from, to);
}
