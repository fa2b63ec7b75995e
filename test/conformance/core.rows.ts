// tus 1.0.0, Core Protocol: one row per requirement.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { waitFor } from '../helpers/wait.js';
import { type Conformance, OFFSET_STREAM, type Requirement, TUS } from './harness.js';

const CORE = 'tus 1.0.0 Core Protocol';

const missing = (_t: Conformance) => `/files/${'0'.repeat(32)}`;

export const CORE_ROWS: Requirement[] = [
  {
    id: 'core-head-offset-zero',
    section: `${CORE} / Requests / HEAD`,
    sentence:
      'The Server MUST always include the Upload-Offset header in the response for a HEAD request, even if the offset is 0',
    async check(t) {
      const url = await t.upload(100);
      const reply = await t.head(url);
      expect(reply.status).to.be.oneOf([200, 204]);
      expect(reply.headers['upload-offset']).to.equal('0');
    },
  },
  {
    id: 'core-head-offset-complete',
    section: `${CORE} / Requests / HEAD`,
    sentence:
      'The Server MUST always include the Upload-Offset header in the response for a HEAD request, even if ... the upload is already considered completed.',
    async check(t) {
      const url = await t.finished(randomBytes(300));
      const reply = await t.head(url);
      expect(reply.status).to.be.oneOf([200, 204]);
      expect(reply.headers['upload-offset']).to.equal('300');
    },
  },
  {
    id: 'core-head-length',
    section: `${CORE} / Requests / HEAD`,
    sentence: 'If the size of the upload is known, the Server MUST include the Upload-Length header in the response.',
    async check(t) {
      const reply = await t.head(await t.upload(1234));
      expect(reply.headers['upload-length']).to.equal('1234');
    },
  },
  {
    id: 'core-head-not-found',
    section: `${CORE} / Requests / HEAD`,
    sentence:
      'If the resource is not found, the Server SHOULD return either the 404 Not Found, 410 Gone or 403 Forbidden status without the Upload-Offset header.',
    async check(t) {
      const reply = await t.head(missing(t));
      expect(reply.status).to.be.oneOf([403, 404, 410]);
      expect(reply.headers['upload-offset']).to.equal(undefined);
    },
  },
  {
    id: 'core-head-no-store',
    section: `${CORE} / Requests / HEAD`,
    sentence:
      'The Server MUST prevent the client and/or proxies from caching the response by adding the Cache-Control: no-store header to the response.',
    async check(t) {
      const reply = await t.head(await t.upload(10));
      expect(reply.headers['cache-control']).to.equal('no-store');
    },
  },
  {
    id: 'core-patch-content-type',
    section: `${CORE} / Requests / PATCH`,
    sentence:
      'All PATCH requests MUST use Content-Type: application/offset+octet-stream, otherwise the server SHOULD return a 415 Unsupported Media Type status.',
    async check(t) {
      const url = await t.upload(10);
      const reply = await t.patch(url, 0, randomBytes(10), { 'Content-Type': 'application/octet-stream' });
      expect(reply.status).to.equal(415);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('unsupported_media_type');
      expect(await t.offset(url)).to.equal(0);
    },
  },
  {
    id: 'core-patch-offset-conflict',
    section: `${CORE} / Requests / PATCH`,
    sentence:
      'If the offsets do not match, the Server MUST respond with the 409 Conflict status without modifying the upload resource.',
    async check(t) {
      const url = await t.upload(100);
      expect((await t.patch(url, 0, randomBytes(40))).status).to.equal(204);
      const reply = await t.patch(url, 10, randomBytes(40));
      expect(reply.status).to.equal(409);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('offset_conflict');
      expect(await t.offset(url)).to.equal(40);
    },
  },
  {
    id: 'core-patch-204-offset',
    section: `${CORE} / Requests / PATCH`,
    sentence:
      'The Server MUST acknowledge successful PATCH requests with the 204 No Content status. It MUST include the Upload-Offset header containing the new offset.',
    async check(t) {
      const url = await t.upload(100);
      const first = await t.patch(url, 0, randomBytes(30));
      expect(first.status).to.equal(204);
      expect(first.headers['upload-offset']).to.equal('30');
      const second = await t.patch(url, 30, randomBytes(70));
      expect(second.status).to.equal(204);
      expect(second.headers['upload-offset'], 'offset before plus the bytes of this PATCH').to.equal('100');
    },
  },
  {
    id: 'core-patch-not-found',
    section: `${CORE} / Requests / PATCH`,
    sentence:
      'If the server receives a PATCH request against a non-existent resource it SHOULD return a 404 Not Found status.',
    async check(t) {
      const reply = await t.patch(missing(t), 0, randomBytes(10));
      expect(reply.status).to.equal(404);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('not_found');
    },
  },
  {
    id: 'core-patch-store-received',
    section: `${CORE} / Requests / PATCH`,
    sentence: 'The Server SHOULD always attempt to store as much of the received data as possible.',
    async check(t) {
      const C = 5 * 1024 * 1024;
      const url = await t.upload(2 * C);
      const body = randomBytes(2 * C);
      // a chunk's worth and 600 bytes more; cut once the server is reading (the chunk is durable)
      const chunk = () => waitFor(async () => (await t.offset(url)) === C, { what: 'the first chunk' });
      await t
        .raw({
          method: 'PATCH',
          url,
          headers: { ...TUS, 'Content-Type': OFFSET_STREAM, 'Upload-Offset': '0' },
          body,
          cut: { after: C + 600, when: chunk },
        })
        .catch(() => undefined);
      await waitFor(async () => (await t.offset(url)) === C + 600, { what: 'the 600 bytes past it to be kept too' });
    },
  },
  {
    id: 'core-tus-resumable-responses',
    section: `${CORE} / Headers / Tus-Resumable`,
    sentence: 'The Tus-Resumable header MUST be included in every request and response except for OPTIONS requests.',
    async check(t) {
      const url = await t.upload(10);
      const replies = [
        await t.head(url),
        await t.patch(url, 0, randomBytes(10)),
        await t.patch(url, 3, randomBytes(1)),
        await t.head(missing(t)),
        await t.tus('POST', '/files', {}),
        await t.tus('DELETE', url),
      ];
      for (const reply of replies) expect(reply.headers['tus-resumable'], String(reply.status)).to.equal('1.0.0');
    },
  },
  {
    id: 'core-version-412',
    section: `${CORE} / Headers / Tus-Resumable`,
    sentence:
      'If the version specified by the Client is not supported by the Server, it MUST respond with the 412 Precondition Failed status and MUST include the Tus-Version header into the response. In addition, the Server MUST NOT process the request.',
    async check(t) {
      const reply = await t.send('POST', '/files', { 'Tus-Resumable': '0.2.2', 'Upload-Length': '10' });
      expect(reply.status).to.equal(412);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('precondition_failed');
      expect(reply.headers['tus-version']).to.equal('1.0.0');
      expect(reply.headers.location, 'no upload was created').to.equal(undefined);
      const listed = await t.send('GET', '/storage/chunked-upload');
      expect(JSON.parse(listed.body).total, 'no upload was created').to.equal(0);
    },
  },
  {
    id: 'core-tus-version',
    section: `${CORE} / Headers / Tus-Version; Requests / OPTIONS`,
    sentence:
      'A successful response indicated by the 204 No Content or 200 OK status MUST contain the Tus-Version header. The Tus-Version response header MUST be a comma-separated list of protocol versions supported by the Server.',
    async check(t) {
      const reply = await t.send('OPTIONS', '/files', {});
      expect(reply.status).to.be.oneOf([200, 204]);
      expect(reply.headers['tus-version']).to.equal('1.0.0');
    },
  },
  {
    id: 'core-options-ignores-version',
    section: `${CORE} / Requests / OPTIONS`,
    sentence:
      'The Client SHOULD NOT include the Tus-Resumable header in the request and the Server MUST ignore the header.',
    async check(t) {
      const reply = await t.send('OPTIONS', '/files', { 'Tus-Resumable': '0.0.1' });
      expect(reply.status).to.be.oneOf([200, 204]);
      expect(reply.headers['tus-version']).to.equal('1.0.0');
    },
  },
  {
    id: 'core-tus-max-size',
    section: `${CORE} / Headers / Tus-Max-Size`,
    sentence:
      'The Tus-Max-Size response header MUST be a non-negative integer indicating the maximum allowed size of an entire upload in bytes.',
    async check(t) {
      const reply = await t.send('OPTIONS', '/files', {});
      expect(reply.headers['tus-max-size']).to.match(/^\d+$/);
    },
  },
  {
    id: 'core-method-override',
    section: `${CORE} / Headers / X-HTTP-Method-Override`,
    sentence:
      "The X-HTTP-Method-Override request header MUST be a string which MUST be interpreted as the request's method by the Server, if the header is presented. The actual method of the request MUST be ignored.",
    async check(t) {
      const url = await t.upload(20);
      const reply = await t.tus(
        'POST',
        url,
        { 'X-HTTP-Method-Override': 'PATCH', 'Content-Type': OFFSET_STREAM, 'Upload-Offset': '0' },
        randomBytes(20),
      );
      expect(reply.status).to.equal(204);
      expect(reply.headers['upload-offset']).to.equal('20');
    },
  },
  {
    id: 'core-offset-integer',
    section: `${CORE} / Headers / Upload-Offset`,
    sentence:
      'The Upload-Offset request and response header indicates a byte offset within a resource. The value MUST be a non-negative integer.',
    async check(t) {
      const url = await t.upload(20);
      for (const bad of ['-1', 'abc', '1.5']) {
        const reply = await t.patch(url, 0, randomBytes(5), { 'Upload-Offset': bad });
        expect(reply.status, bad).to.equal(400);
        expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
      }
      expect(await t.offset(url)).to.equal(0);
    },
  },
  {
    id: 'core-length-integer',
    section: `${CORE} / Headers / Upload-Length`,
    sentence:
      'The Upload-Length request and response header indicates the size of the entire upload in bytes. The value MUST be a non-negative integer.',
    async check(t) {
      for (const bad of ['-5', 'ten', '']) {
        const reply = await t.tus('POST', '/files', { 'Upload-Length': bad });
        expect(reply.status, JSON.stringify(bad)).to.equal(400);
        expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
      }
    },
  },
];
