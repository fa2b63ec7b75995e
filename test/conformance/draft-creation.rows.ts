// The IETF resumable-uploads draft, -11 (interop version 8): upload creation, offset retrieval,
// limits and cancellation, one row per requirement.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { append, createDraft, DRAFT, digest, draft, PARTIAL, resumption, V8 } from './draft.helpers.js';
import type { Requirement } from './harness.js';

export const DRAFT_CREATION_ROWS: Requirement[] = [
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
      expect(reply.headers['x-error-type'], 'the error type').to.equal('payload_too_large');
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
      for (const reply of [await draft(t, 'HEAD', url), await append(t, url, 10, randomBytes(5), false)]) {
        expect(reply.status).to.equal(404);
        expect(reply.headers['x-error-type']).to.equal('not_found');
      }
    },
  },
];
