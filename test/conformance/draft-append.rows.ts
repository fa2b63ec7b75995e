// The IETF resumable-uploads draft, -11 (interop version 8): upload append, lengths and digests,
// one row per requirement.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { append, createDraft, DRAFT, digest, draft, PARTIAL, resumption } from './draft.helpers.js';
import type { Requirement } from './harness.js';

export const DRAFT_APPEND_ROWS: Requirement[] = [
  {
    id: 'draft-offset-conflict',
    section: `${DRAFT} / Upload Append / Server Behavior`,
    sentence:
      'If the Upload-Offset request header field value does not match the current offset, the upload resource MUST reject the request with a 409 (Conflict) status code. The response MUST include the correct offset in the Upload-Offset header field. The response can use the problem type ... mismatching-upload-offset',
    async check(t) {
      const url = (await createDraft(t, {}, randomBytes(50))).headers.location ?? '';
      const reply = await append(t, url, 80, randomBytes(10), false);
      expect(reply.status).to.equal(409);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('offset_conflict');
      expect(reply.headers['upload-offset']).to.equal('50');
      expect(reply.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(JSON.parse(reply.body)).to.include({
        type: 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset',
        'expected-offset': 50,
        'provided-offset': 80,
      });
    },
  },
  {
    id: 'draft-append-incomplete',
    section: `${DRAFT} / Upload Append / Server Behavior`,
    sentence:
      'If the Upload-Complete request header field is set to false ... If the request content was fully received, the upload resource acknowledges the appended data by sending a 2xx (Successful) response with the Upload-Complete header field set to false.',
    async check(t) {
      const url = (await createDraft(t)).headers.location ?? '';
      const reply = await append(t, url, 0, randomBytes(64), false);
      expect(reply.status).to.be.within(200, 299);
      expect(reply.headers['upload-complete']).to.equal('?0');
      expect(reply.headers['upload-offset']).to.equal('64');
    },
  },
  {
    id: 'draft-append-complete',
    section: `${DRAFT} / Upload Append / Server Behavior`,
    sentence:
      'If the Upload-Complete request header field is set to true ... the upload is marked as complete ... However, the response MUST include the Upload-Complete header field with a true value',
    async check(t) {
      const data = randomBytes(300);
      const url = (await createDraft(t, {}, data.subarray(0, 100))).headers.location ?? '';
      const reply = await append(t, url, 100, data.subarray(100), true);
      expect(reply.status).to.be.within(200, 299);
      expect(reply.headers['upload-complete']).to.equal('?1');
      expect(reply.headers['repr-digest']).to.equal(digest(data));
      expect((await draft(t, 'HEAD', url)).headers['upload-complete']).to.equal('?1');
    },
  },
  {
    id: 'draft-append-completed',
    section: `${DRAFT} / Upload Append / Server Behavior`,
    sentence:
      'If the upload is already complete, the server MUST NOT modify the upload resource and MUST reject the request. ... If the client attempted to append a non-zero length document, the server MUST treat this as an inconsistent length failure.',
    async check(t) {
      const url =
        (await draft(t, 'POST', '/files', { 'Upload-Complete': '?1' }, randomBytes(40))).headers.location ?? '';
      const reply = await append(t, url, 40, randomBytes(10), false);
      expect(reply.status).to.equal(400);
      expect(JSON.parse(reply.body).type).to.match(/#inconsistent-upload-length$/);
      expect((await draft(t, 'HEAD', url)).headers['upload-offset']).to.equal('40');
    },
  },
  {
    id: 'draft-inconsistent-length',
    section: `${DRAFT} / Length`,
    sentence:
      'If indicators (1) and (2) are both present in the same request, their indicated lengths MUST match. If multiple requests include indicators, their indicated values MUST match.',
    async check(t) {
      const both = await draft(
        t,
        'POST',
        '/files',
        { 'Upload-Complete': '?1', 'Upload-Length': '999' },
        randomBytes(10),
      );
      expect(both.status).to.equal(400);
      expect(both.headers['x-error-type'], 'the error type').to.equal('validation_error');
      expect(both.headers.location, 'nothing created').to.equal(undefined);
      const url = (await createDraft(t, { 'Upload-Length': '100' })).headers.location ?? '';
      const later = await append(t, url, 0, randomBytes(10), false, { 'Upload-Length': '200' });
      expect(later.status).to.equal(400);
      expect(JSON.parse(later.body).type).to.match(/#inconsistent-upload-length$/);
    },
  },
  {
    id: 'draft-exceed-length',
    section: `${DRAFT} / Upload Append / Server Behavior`,
    sentence:
      'If the length is known, the server MUST prevent the offset from exceeding the upload length by rejecting the request once the offset exceeds the length',
    async check(t) {
      const url = (await createDraft(t, { 'Upload-Length': '50' })).headers.location ?? '';
      const reply = await append(t, url, 0, randomBytes(80), false);
      expect(reply.status).to.be.within(400, 499);
      expect(Number((await draft(t, 'HEAD', url)).headers['upload-offset'])).to.be.at.most(50);
    },
  },
  {
    id: 'draft-progress-104',
    section: `${DRAFT} / Upload Append / Server Behavior`,
    sentence:
      'While the request content is being received, the server SHOULD send interim responses with a 104 (Upload Resumption Supported) status code and the Upload-Offset header field set to the current offset ... These interim responses MUST NOT include the Location header field.',
    async check(t) {
      const url = (await createDraft(t)).headers.location ?? '';
      const reply = await append(t, url, 0, randomBytes(6 * 1024 * 1024), false);
      const offsets = resumption(reply).map((i) => Number(i.headers['upload-offset']));
      expect(offsets, 'a 104 at each durable chunk').to.deep.equal([5 * 1024 * 1024, 6 * 1024 * 1024]);
      for (const info of resumption(reply)) expect(info.headers.location).to.equal(undefined);
    },
  },
  {
    id: 'draft-offset-monotonic',
    section: `${DRAFT} / Offset`,
    sentence:
      'Representation data received by the upload resource cannot be removed again and, therefore, the offset MUST NOT decrease.',
    async check(t) {
      const url = (await createDraft(t)).headers.location ?? '';
      let last = 0;
      for (const size of [10, 0, 25]) {
        await append(t, url, last, randomBytes(size), false);
        const offset = Number((await draft(t, 'HEAD', url)).headers['upload-offset']);
        expect(offset).to.be.at.least(last);
        last = offset;
      }
      expect(last).to.equal(35);
    },
  },
  {
    id: 'draft-content-digest',
    section: `${DRAFT} / Integrity Digests / Content Digests`,
    sentence:
      "If the digests don't match the server SHOULD consider the transfer failed, not append the content to the upload resource, and signal the failure to the client.",
    async check(t) {
      const url = (await createDraft(t)).headers.location ?? '';
      const data = randomBytes(500);
      const wrong = await append(t, url, 0, data, false, { 'Content-Digest': digest(randomBytes(5)) });
      expect(wrong.status).to.equal(400);
      expect(wrong.headers['x-error-type'], 'the error type').to.equal('validation_error');
      expect((await draft(t, 'HEAD', url)).headers['upload-offset']).to.equal('0');
      const right = await append(t, url, 0, data, false, { 'Content-Digest': digest(data) });
      expect(right.headers['upload-offset']).to.equal('500');
    },
  },
  {
    id: 'draft-repr-digest',
    section: `${DRAFT} / Integrity Digests / Representation Digests`,
    sentence:
      "Once the upload is completed, the server can compute the integrity digest of the received representation data and compare it to the provided digest. If the digests don't match, the server SHOULD consider the upload failed, not process the representation further, and signal the failure to the client.",
    async check(t) {
      const url = (await createDraft(t, { 'Repr-Digest': digest(randomBytes(3)) })).headers.location ?? '';
      const reply = await append(t, url, 0, randomBytes(100), true);
      expect(reply.status).to.equal(400);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
      expect(reply.headers['upload-asset-id']).to.equal(undefined);
      const head = await draft(t, 'HEAD', url);
      expect(head.status, 'the upload failed').to.equal(404);
      expect(head.headers['x-error-type']).to.equal('not_found');
    },
  },
  {
    id: 'draft-partial-upload-type',
    section: `${DRAFT} / Upload Append / Client Behavior`,
    sentence:
      'A client can continue the upload and append representation data by sending a PATCH request with the application/partial-upload media type (an append of another type is not an append: 415).',
    async check(t) {
      const url = (await createDraft(t)).headers.location ?? '';
      const reply = await append(t, url, 0, randomBytes(10), false, { 'Content-Type': 'application/octet-stream' });
      expect(reply.status).to.equal(415);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('unsupported_media_type');
    },
  },
  {
    id: 'draft-complete-required',
    section: `${DRAFT} / Upload Append / Client Behavior`,
    sentence: 'The request MUST include the Upload-Complete header field.',
    async check(t) {
      const url = (await createDraft(t)).headers.location ?? '';
      const reply = await draft(t, 'PATCH', url, { 'Content-Type': PARTIAL, 'Upload-Offset': '0' }, randomBytes(10));
      expect(reply.status).to.equal(400);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
      expect((await draft(t, 'HEAD', url)).headers['upload-offset']).to.equal('0');
    },
  },
];
