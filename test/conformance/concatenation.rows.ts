// tus 1.0.0 extensions Concatenation and Concatenation Unfinished: one row per requirement.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { sha256 } from '../helpers/files.js';
import type { Conformance, Requirement } from './harness.js';

const EXT = 'tus 1.0.0 Protocol Extensions / Concatenation';

const partial = { 'Upload-Concat': 'partial' };

async function parts(t: Conformance, ...data: Buffer[]): Promise<string[]> {
  return Promise.all(data.map((d) => t.finished(d, partial)));
}

export const CONCATENATION_ROWS: Requirement[] = [
  {
    id: 'concat-partial-head',
    section: EXT,
    sentence:
      'The response to a HEAD request for a partial upload MUST contain the Upload-Offset header. ... Response to HEAD request against partial or final upload MUST include the Upload-Concat header and its value as received in the upload creation request.',
    async check(t) {
      const reply = await t.tus('POST', '/files', { 'Upload-Length': '10', ...partial });
      expect(reply.headers['upload-concat'], 'in the creation response too').to.equal('partial');
      const head = await t.head(reply.headers.location ?? '');
      expect(head.headers['upload-concat']).to.equal('partial');
      expect(head.headers['upload-offset']).to.equal('0');
    },
  },
  {
    id: 'concat-final-length',
    section: EXT,
    sentence:
      'The length of the final upload MUST be the sum of the length of all partial uploads. The partial uploads MUST be concatenated as per the order specified in the list.',
    async check(t) {
      const data = [randomBytes(300), randomBytes(500)];
      const urls = await parts(t, ...data);
      const reply = await t.tus('POST', '/files', { 'Upload-Concat': `final;${urls.join(' ')}` });
      expect(reply.status).to.equal(201);
      const head = await t.head(reply.headers.location ?? '');
      expect(head.headers['upload-length']).to.equal('800');
      const asset = JSON.parse((await t.send('GET', `/storage/assets/${head.headers['upload-asset-id']}`)).body);
      expect(asset.sha256).to.equal(sha256(Buffer.concat(data)));
    },
  },
  {
    id: 'concat-final-head',
    section: EXT,
    sentence:
      'After successful concatenation, the Upload-Offset and Upload-Length MUST be set and their values MUST be equal. ... MUST include the Upload-Concat header and its value as received in the upload creation request.',
    async check(t) {
      const urls = await parts(t, randomBytes(100), randomBytes(200));
      const value = `final;${urls.join(' ')}`;
      const reply = await t.tus('POST', '/files', { 'Upload-Concat': value });
      expect(reply.headers['upload-concat'], 'in the creation response too').to.equal(value);
      const head = await t.head(reply.headers.location ?? '');
      expect(head.headers['upload-concat']).to.equal(value);
      expect(head.headers['upload-offset']).to.equal(head.headers['upload-length']).and.equal('300');
    },
  },
  {
    id: 'concat-final-no-length',
    section: EXT,
    sentence: 'The Client MUST NOT include the Upload-Length header in the final upload creation.',
    async check(t) {
      const urls = await parts(t, randomBytes(10));
      const reply = await t.tus('POST', '/files', {
        'Upload-Concat': `final;${urls.join(' ')}`,
        'Upload-Length': '10',
      });
      expect(reply.status).to.equal(400);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
    },
  },
  {
    id: 'concat-final-patch-403',
    section: EXT,
    sentence:
      'The Server MUST respond with the 403 Forbidden status to PATCH requests against a final upload URL and MUST NOT modify the final or its partial uploads.',
    async check(t) {
      const [first] = await parts(t, randomBytes(50));
      const open = await t.upload(50, partial);
      const reply = await t.tus('POST', '/files', { 'Upload-Concat': `final;${first} ${open}` });
      const final = reply.headers.location ?? '';
      const patch = await t.patch(final, 50, randomBytes(50));
      expect(patch.status).to.equal(403);
      expect(patch.headers['x-error-type'], 'the error type').to.equal('forbidden');
      expect(await t.offset(open)).to.equal(0);
      expect((await t.head(final)).headers['upload-asset-id']).to.equal(undefined);
    },
  },
  {
    id: 'concat-final-no-metadata',
    section: `${EXT} / Upload-Metadata`,
    sentence:
      "When creating a new final upload the partial uploads' metadata SHALL NOT be transferred to the new final upload. (The Upload-Metadata header MUST consist of one or more key-value pairs: none is sent for an upload without metadata.)",
    async check(t) {
      const urls = await parts(t, randomBytes(10));
      const reply = await t.tus('POST', '/files', { 'Upload-Concat': `final;${urls.join(' ')}` });
      const head = await t.head(reply.headers.location ?? '');
      expect(head.headers['upload-metadata']).to.equal(undefined);
    },
  },
  {
    id: 'concat-unfinished',
    section: `${EXT} (concatenation-unfinished)`,
    sentence:
      'The Client MAY send the concatenation request while the partial uploads are still in progress. This feature MUST be explicitly announced by the Server by adding concatenation-unfinished to the Tus-Extension header.',
    async check(t) {
      const data = [randomBytes(400), randomBytes(600)];
      const a = await t.upload(400, partial);
      const b = await t.upload(600, partial);
      expect((await t.patch(a, 0, data[0]?.subarray(0, 100) ?? Buffer.alloc(0))).status).to.equal(204);
      const reply = await t.tus('POST', '/files', { 'Upload-Concat': `final;${a} ${b}` });
      expect(reply.status).to.equal(201);
      const final = reply.headers.location ?? '';
      const waiting = await t.head(final);
      expect(waiting.headers['upload-length']).to.equal('1000');
      expect(waiting.headers['upload-offset'], 'follows its parts').to.equal('100');
      expect((await t.patch(a, 100, data[0]?.subarray(100) ?? Buffer.alloc(0))).status).to.equal(204);
      expect((await t.patch(b, 0, data[1] ?? Buffer.alloc(0))).status).to.equal(204);
      const done = await t.head(final);
      expect(done.headers['upload-offset']).to.equal('1000');
      const asset = JSON.parse((await t.send('GET', `/storage/assets/${done.headers['upload-asset-id']}`)).body);
      expect(asset.sha256, 'joined when the last part finished').to.equal(sha256(Buffer.concat(data)));
    },
  },
];
