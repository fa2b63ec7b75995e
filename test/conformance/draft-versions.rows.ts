// The draft's earlier interop versions (3 to 7), as the clients that speak them expect: one row per
// requirement that differs from draft -11, with the sentence of the draft that states it.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Conformance, Requirement } from './harness.js';

const v = (interop: number) => ({ 'Upload-Draft-Interop-Version': String(interop) });

async function created(t: Conformance, interop: number, headers: Record<string, string>, body?: Buffer) {
  const reply = await t.send('POST', '/files', { ...v(interop), ...headers }, body);
  expect(reply.status, reply.body).to.equal(201);
  return reply;
}

export const VERSION_ROWS: Requirement[] = [
  {
    id: 'interop-all-104',
    section: 'drafts -01 to -11 / Upload Creation',
    sentence:
      'As soon as the upload resource is available, the server MAY send an informational response with 104 (Upload Resumption Supported) status ... the Location header field MUST be set to the upload URL. (every interop version from 3 to 8)',
    async check(t) {
      for (const interop of [3, 4, 5, 6, 7, 8]) {
        const field: Record<string, string> =
          interop === 3 ? { 'Upload-Incomplete': '?1' } : { 'Upload-Complete': '?0' };
        const reply = await created(t, interop, field);
        const info = reply.informational.find((i) => i.status === 104);
        expect(info?.headers.location, `interop ${interop}`).to.equal(reply.headers.location);
        expect(info?.headers['upload-draft-interop-version']).to.equal(String(interop));
      }
    },
  },
  {
    id: 'interop3-incomplete',
    section: 'draft-ietf-httpbis-resumable-upload-01 / Upload Creation, Offset Retrieving',
    sentence:
      'If the request completes successfully but the entire upload is not yet complete indicated by the Upload-Incomplete header, the server MUST acknowledge it by responding with the 201 (Created) status code, the Upload-Incomplete header set to true. ... [HEAD] it MUST send back a 204 (No Content) response ... The response MUST include the Upload-Incomplete header which is set to true if and only if the upload is incomplete.',
    async check(t) {
      const data = randomBytes(400);
      const reply = await created(t, 3, { 'Upload-Incomplete': '?1' }, data.subarray(0, 100));
      expect(reply.headers['upload-incomplete']).to.equal('?1');
      expect(reply.headers['upload-offset']).to.equal('100');
      const url = reply.headers.location ?? '';
      const head = await t.send('HEAD', url, v(3));
      expect(head.status).to.equal(204);
      expect(head.headers['upload-incomplete']).to.equal('?1');
      const last = await t.send(
        'PATCH',
        url,
        { ...v(3), 'Upload-Offset': '100', 'Upload-Incomplete': '?0' },
        data.subarray(100),
      );
      expect(last.status).to.be.within(200, 299);
      expect(last.headers['upload-incomplete']).to.equal('?0');
      expect((await t.send('HEAD', url, v(3))).headers['upload-incomplete']).to.equal('?0');
    },
  },
  {
    id: 'interop3-head-fields',
    section: 'draft-ietf-httpbis-resumable-upload-01 / Offset Retrieving Procedure',
    sentence:
      'The request MUST NOT include the Upload-Offset header or the Upload-Incomplete header. The server MUST reject the request with the Upload-Offset header or the Upload-Incomplete header by sending a 400 (Bad Request) response.',
    async check(t) {
      const url = (await created(t, 3, { 'Upload-Incomplete': '?1' })).headers.location ?? '';
      for (const reply of [
        await t.send('HEAD', url, { ...v(3), 'Upload-Offset': '0' }),
        await t.send('DELETE', url, { ...v(3), 'Upload-Incomplete': '?1' }),
      ]) {
        expect(reply.status).to.equal(400);
        expect(reply.headers['x-error-type']).to.equal('validation_error');
      }
    },
  },
  {
    id: 'interop4-append-201',
    section: 'draft-ietf-httpbis-resumable-upload-02 / Upload Appending Procedure',
    sentence:
      'If the request completes successfully but the entire upload is not yet complete, as indicated by an Upload-Complete field value of false in the request, the server MUST acknowledge it by responding with the 201 (Created) status code and an Upload-Complete header value set to false. (No media type is required of the append.)',
    async check(t) {
      const url = (await created(t, 4, { 'Upload-Complete': '?0' })).headers.location ?? '';
      const reply = await t.send(
        'PATCH',
        url,
        { ...v(4), 'Upload-Offset': '0', 'Upload-Complete': '?0' },
        randomBytes(30),
      );
      expect(reply.status).to.equal(201);
      expect(reply.headers['upload-complete']).to.equal('?0');
      expect(reply.headers['upload-offset']).to.equal('30');
      expect(reply.informational, 'progress 104s came with -03').to.deep.equal([]);
    },
  },
  {
    id: 'interop5-progress',
    section: 'draft-ietf-httpbis-resumable-upload-03 / Upload Appending',
    sentence:
      'While the request content is being uploaded, the target resource MAY send one or more informational responses with a 104 (Upload Resumption Supported) status code to the client. These informational responses MUST NOT contain the Location header field. They MAY include the Upload-Offset header field',
    async check(t) {
      const url = (await created(t, 5, { 'Upload-Complete': '?0' })).headers.location ?? '';
      const reply = await t.send(
        'PATCH',
        url,
        { ...v(5), 'Upload-Offset': '0', 'Upload-Complete': '?0' },
        randomBytes(1000),
      );
      expect(reply.status).to.equal(201);
      const progress = reply.informational.filter((i) => i.status === 104);
      expect(progress.map((i) => i.headers['upload-offset'])).to.deep.equal(['1000']);
      expect(progress[0]?.headers.location).to.equal(undefined);
    },
  },
  {
    id: 'interop6-partial-upload',
    section: 'draft-ietf-httpbis-resumable-upload-05 / Upload Appending, Upload-Limit',
    sentence:
      'The request MUST use the PATCH method with the application/partial-upload media type ... The expires key specifies the remaining lifetime of the upload resource in seconds',
    async check(t) {
      const reply = await created(t, 6, { 'Upload-Complete': '?0', 'Upload-Length': '100' });
      expect(reply.headers['upload-limit']).to.match(/^max-size=\d+, expires=\d+$/);
      const url = reply.headers.location ?? '';
      const untyped = await t.send(
        'PATCH',
        url,
        { ...v(6), 'Upload-Offset': '0', 'Upload-Complete': '?0' },
        randomBytes(10),
      );
      expect(untyped.status).to.equal(415);
      expect(untyped.headers['x-error-type'], 'the error type').to.equal('unsupported_media_type');
      const conflict = await t.send(
        'PATCH',
        url,
        { ...v(6), 'Content-Type': 'application/partial-upload', 'Upload-Offset': '7', 'Upload-Complete': '?0' },
        randomBytes(10),
      );
      expect(conflict.status).to.equal(409);
      expect(conflict.headers['x-error-type'], 'the error type').to.equal('offset_conflict');
      expect(JSON.parse(conflict.body)['expected-offset']).to.equal(0);
    },
  },
  {
    id: 'interop7-max-age',
    section: 'draft-ietf-httpbis-resumable-upload-08 / Upload Appending, Upload-Limit',
    sentence:
      "The max-age limit specifies the remaining lifetime of the upload resource in seconds ... If the request didn't complete the upload, any response, successful or not, MUST include the Upload-Complete header field with a false value",
    async check(t) {
      const reply = await created(t, 7, { 'Upload-Complete': '?0' });
      expect(reply.headers['upload-limit']).to.match(/^max-size=\d+, max-age=\d+$/);
      const url = reply.headers.location ?? '';
      const ok = await t.send(
        'PATCH',
        url,
        { ...v(7), 'Content-Type': 'application/partial-upload', 'Upload-Offset': '0', 'Upload-Complete': '?0' },
        randomBytes(10),
      );
      expect(ok.status).to.equal(204);
      const failed = await t.send(
        'PATCH',
        url,
        { ...v(7), 'Content-Type': 'application/partial-upload', 'Upload-Offset': '3', 'Upload-Complete': '?0' },
        randomBytes(10),
      );
      expect(failed.status).to.equal(409);
      expect(failed.headers['x-error-type'], 'the error type').to.equal('offset_conflict');
      expect(failed.headers['upload-complete']).to.equal('?0');
    },
  },
];
