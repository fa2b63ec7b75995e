// The IETF resumable-uploads draft, -11 (interop version 8): one row per requirement.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Conformance, RawResponse, Requirement } from './harness.js';

const DRAFT = 'draft-ietf-httpbis-resumable-upload-11';
const V8 = { 'Upload-Draft-Interop-Version': '8' };
const PARTIAL = 'application/partial-upload';

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

const resumption = (reply: RawResponse) => reply.informational.filter((i) => i.status === 104);
const digest = (data: Buffer) => `sha-256=:${createHash('sha256').update(data).digest('base64')}:`;

export const DRAFT_ROWS: Requirement[] = [
  {
    id: 'draft-104-location',
    section: `${DRAFT} / Upload Creation / Server Behavior`,
    sentence:
      'it SHOULD announce the upload resource by sending an interim response with the 104 (Upload Resumption Supported) status code ... When sent, it MUST include Location header field pointing to the upload resource and MUST include the Upload-Limit header field with the corresponding limits',
    async check(t) {
      const reply = await createDraft(t, { 'Upload-Length': '100' }, randomBytes(10));
      const [first] = resumption(reply);
      expect(first?.headers.location).to.equal(reply.headers.location);
      expect(first?.headers['upload-limit']).to.match(/max-size=\d+/);
    },
  },
  {
    id: 'draft-104-interop-version',
    section: `${DRAFT} / Draft Version Identification`,
    sentence:
      'Server implementations of draft versions of the protocol MUST also send a header field Upload-Draft-Interop-Version with the interop version as its value to the 104 (Upload Resumption Supported) informational response.',
    async check(t) {
      const reply = await createDraft(t, {}, randomBytes(10));
      expect(resumption(reply).length).to.be.at.least(1);
      for (const info of resumption(reply)) expect(info.headers['upload-draft-interop-version']).to.equal('8');
    },
  },
  {
    id: 'draft-104-mismatching-version',
    section: `${DRAFT} / Draft Version Identification`,
    sentence:
      'Server implementations of draft versions of the protocol MUST NOT send a 104 (Upload Resumption Supported) informational response when the interop version indicated by the Upload-Draft-Interop-Version header field in the request is missing or mismatching.',
    async check(t) {
      for (const version of ['2', '9', 'abc']) {
        const reply = await t.send('POST', '/files', {
          'Upload-Draft-Interop-Version': version,
          'Upload-Complete': '?0',
        });
        expect(resumption(reply), version).to.deep.equal([]);
      }
    },
  },
  {
    id: 'draft-create-incomplete',
    section: `${DRAFT} / Upload Creation / Server Behavior`,
    sentence:
      'If the Upload-Complete header field is set to false ... If the request content was fully received, the server MUST include the Location response header field pointing to the upload resource and MUST include the Upload-Limit header field with the corresponding limits if existing.',
    async check(t) {
      const reply = await createDraft(t, {}, randomBytes(100));
      expect(reply.headers.location).to.match(/^http:\/\/.+\/files\/[0-9a-f]{32}$/);
      expect(reply.headers['upload-limit']).to.match(/max-size=\d+/);
      expect(reply.headers['upload-complete']).to.equal('?0');
    },
  },
  {
    id: 'draft-identical-location',
    section: `${DRAFT} / Upload Creation / Server Behavior`,
    sentence:
      'Where a response requires a Location header field to be included, all interim and final response messages for the same request MUST contain an identical Location value.',
    async check(t) {
      const reply = await createDraft(t, { 'Upload-Length': '10' });
      const locations = resumption(reply).flatMap((i) => (i.headers.location ? [i.headers.location] : []));
      expect(locations).to.deep.equal([reply.headers.location]);
    },
  },
  {
    id: 'draft-record-length',
    section: `${DRAFT} / Upload Creation / Server Behavior; Length`,
    sentence:
      'The server MUST record the length according to {{upload-length}} if the Upload-Length or Upload-Complete: ?1 header fields are included in the request.',
    async check(t) {
      const declared = await createDraft(t, { 'Upload-Length': '5000' });
      expect((await draft(t, 'HEAD', declared.headers.location ?? '')).headers['upload-length']).to.equal('5000');
      const whole = await draft(t, 'POST', '/files', { 'Upload-Complete': '?1' }, randomBytes(700));
      expect(whole.status).to.equal(201);
      expect(whole.headers['upload-length'], 'Content-Length with Upload-Complete: ?1').to.equal('700');
    },
  },
  {
    id: 'draft-complete-in-one',
    section: `${DRAFT} / Upload Creation / Server Behavior`,
    sentence:
      'If the Upload-Complete request header field is set to true, the client intends to transfer the entire representation data in one request. If the request content was fully received, no resumable upload is needed and the resource proceeds to process the request and generate a response. (The server SHOULD compute the representation digests ... once the upload is complete and include the corresponding Repr-Digest header field in the response.)',
    async check(t) {
      const data = randomBytes(2000);
      const reply = await draft(t, 'POST', '/files', { 'Upload-Complete': '?1', 'Repr-Digest': digest(data) }, data);
      expect(reply.status).to.equal(201);
      expect(reply.headers['upload-complete']).to.equal('?1');
      expect(reply.headers['upload-asset-id']).to.be.a('string');
      expect(reply.headers['repr-digest']).to.equal(digest(data));
    },
  },
  {
    id: 'draft-head-state',
    section: `${DRAFT} / Offset Retrieval / Server Behavior`,
    sentence:
      'A successful response to a HEAD request against an upload resource MUST include the offset in the Upload-Offset header field, MUST include the completeness state in the Upload-Complete header field, MUST include the length in the Upload-Length header field, unless the client has not supplied one, MUST indicate the limits in the Upload-Limit header field, and SHOULD include the Cache-Control header field with the value no-store',
    async check(t) {
      const created = await createDraft(t, { 'Upload-Length': '300' }, randomBytes(120));
      const head = await draft(t, 'HEAD', created.headers.location ?? '');
      expect(head.status).to.be.oneOf([200, 204]);
      expect(head.headers['upload-offset']).to.equal('120');
      expect(head.headers['upload-complete']).to.equal('?0');
      expect(head.headers['upload-length']).to.equal('300');
      expect(head.headers['upload-limit'])
        .to.match(/max-size=\d+/)
        .and.match(/max-age=\d+/);
      expect(head.headers['cache-control']).to.equal('no-store');
      const unknown = await createDraft(t);
      expect((await draft(t, 'HEAD', unknown.headers.location ?? '')).headers['upload-length']).to.equal(undefined);
    },
  },
  {
    id: 'draft-offset-conflict',
    section: `${DRAFT} / Upload Append / Server Behavior`,
    sentence:
      'If the Upload-Offset request header field value does not match the current offset, the upload resource MUST reject the request with a 409 (Conflict) status code. The response MUST include the correct offset in the Upload-Offset header field. The response can use the problem type ... mismatching-upload-offset',
    async check(t) {
      const url = (await createDraft(t, {}, randomBytes(50))).headers.location ?? '';
      const reply = await append(t, url, 80, randomBytes(10), false);
      expect(reply.status).to.equal(409);
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
    id: 'draft-options',
    section: `${DRAFT} / Limits`,
    sentence:
      'A server that supports the creation of a resumable upload resource for a target URI MUST include the Accept-Patch header field in response to an OPTIONS request for the target URI. The value ... MUST include the full application/partial-upload media type. The Upload-Limit header field SHOULD be included in the response to an OPTIONS request if limits apply.',
    async check(t) {
      const reply = await t.send('OPTIONS', '/files', V8);
      expect(reply.headers['accept-patch']).to.equal(PARTIAL);
      expect(reply.headers['upload-limit']).to.match(/^max-size=\d+$/);
    },
  },
  {
    id: 'draft-413-limit',
    section: `${DRAFT} / Limits`,
    sentence:
      'max-size: Specifies a maximum size for the representation data ... The server might not create an upload resource if the length deduced from the upload creation request is larger than the maximum size. (Clients SHOULD respect limits announced in Upload-Limit.)',
    async check(t) {
      const max = Number(
        /max-size=(\d+)/.exec((await t.send('OPTIONS', '/files', V8)).headers['upload-limit'] ?? '')?.[1],
      );
      const reply = await draft(t, 'POST', '/files', { 'Upload-Complete': '?0', 'Upload-Length': String(max + 1) });
      expect(reply.status).to.equal(413);
      expect(reply.headers['upload-limit']).to.equal(`max-size=${max}`);
    },
  },
  {
    id: 'draft-cancel',
    section: `${DRAFT} / Upload Cancellation / Server Behavior`,
    sentence: 'Upon receiving a DELETE request, the server SHOULD deactivate the upload resource.',
    async check(t) {
      const url = (await createDraft(t, {}, randomBytes(10))).headers.location ?? '';
      expect((await draft(t, 'DELETE', url)).status).to.equal(204);
      expect((await draft(t, 'HEAD', url)).status).to.equal(404);
      expect((await append(t, url, 10, randomBytes(5), false)).status).to.equal(404);
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
      expect(reply.headers['upload-asset-id']).to.equal(undefined);
      expect((await draft(t, 'HEAD', url)).status, 'the upload failed').to.equal(404);
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
      expect((await draft(t, 'HEAD', url)).headers['upload-offset']).to.equal('0');
    },
  },
];
