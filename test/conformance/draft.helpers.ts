// Requests of the IETF resumable-uploads draft, -11 (interop version 8), for the draft's rows.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import type { Conformance, RawResponse } from './harness.js';

export const DRAFT = 'draft-ietf-httpbis-resumable-upload-11';
export const V8 = { 'Upload-Draft-Interop-Version': '8' };
export const PARTIAL = 'application/partial-upload';

export function draft(
  t: Conformance,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: Buffer,
) {
  return t.send(method, url, { ...V8, ...headers }, body);
}

/** Creates an upload with Upload-Complete: ?0 and an optional first part; returns the 201 reply. */
export async function createDraft(t: Conformance, headers: Record<string, string> = {}, body?: Buffer) {
  const reply = await draft(t, 'POST', '/files', { 'Upload-Complete': '?0', ...headers }, body);
  expect(reply.status, reply.body).to.equal(201);
  return reply;
}

export function append(t: Conformance, url: string, offset: number, body: Buffer, complete: boolean, headers = {}) {
  return draft(
    t,
    'PATCH',
    url,
    { 'Content-Type': PARTIAL, 'Upload-Offset': String(offset), 'Upload-Complete': complete ? '?1' : '?0', ...headers },
    body,
  );
}

export const resumption = (reply: RawResponse) => reply.informational.filter((i) => i.status === 104);
export const digest = (data: Buffer) => `sha-256=:${createHash('sha256').update(data).digest('base64')}:`;
