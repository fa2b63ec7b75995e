// Shared by the bad-input tests: an upload with some bytes written, the check that it is unchanged,
// and the check of a 4xx status with its error type.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { createUpload, patchUpload, type Reply } from '../../helpers/tus-http.js';
import { snapshotUpload, type UploadSnapshot } from '../../helpers/uploads.js';

export const LENGTH = 1000;
export const WRITTEN = 100;

export interface PartialUpload {
  url: string;
  id: string;
  owner: string;
  source: Buffer;
  before: UploadSnapshot;
}

/** An upload of LENGTH bytes with the first WRITTEN of them stored. */
export async function partialUpload(
  server: TestServer,
  options: { deferLength?: boolean } = {},
): Promise<PartialUpload> {
  const owner = uniqueOwner('bad');
  const source = randomBytes(LENGTH);
  const { url, id } = await createUpload(server.tusUrl, {
    owner,
    ...(options.deferLength ? { deferLength: true } : { length: LENGTH }),
  });
  const first = await patchUpload(url, 0, source.subarray(0, WRITTEN), { owner });
  expect(first.status, first.body).to.equal(204);
  const before = await snapshotUpload(server, id);
  expect(before.offset).to.equal(WRITTEN);
  return { url, id, owner, source, before };
}

export async function expectUnchanged(server: TestServer, upload: PartialUpload): Promise<void> {
  expect(await snapshotUpload(server, upload.id)).to.deep.equal(upload.before);
}

/** The error type each status stands for in these tests (store/errors.ts has the table). */
export const TYPE_OF: Record<number, string> = {
  400: 'validation_error',
  404: 'not_found',
  409: 'offset_conflict',
  410: 'gone',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** The status, and for an error its type in X-Error-Type; `bodyMatch` says the message names the culprit. */
export function expectStatus(reply: Reply, status: number, bodyMatch?: RegExp): void {
  expect(reply.status, reply.body).to.equal(status);
  if (status >= 400) expect(reply.headers.get('x-error-type'), reply.body).to.equal(TYPE_OF[status]);
  if (bodyMatch) expect(reply.body).to.match(bodyMatch);
}
