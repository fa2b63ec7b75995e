// tus 1.0.0 extensions Creation, Creation With Upload, Creation Defer Length and Expiration, and the
// Tus-Extension list: one row per requirement.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { waitFor } from '../helpers/wait.js';
import { type Conformance, OFFSET_STREAM, type Requirement } from './harness.js';

const EXT = 'tus 1.0.0 Protocol Extensions';

export const ADVERTISED = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'termination',
  'expiration',
  'checksum',
  'checksum-trailer',
  'concatenation',
  'concatenation-unfinished',
];

function metadataOf(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

export const CREATION_ROWS: Requirement[] = [
  {
    id: 'ext-tus-extension-list',
    section: `${EXT}; Headers / Tus-Extension`,
    sentence:
      'The Tus-Extension response header MUST be a comma-separated list of the extensions supported by the Server. (Feature detection SHOULD be achieved by the Client sending an OPTIONS request.)',
    async check(t) {
      const reply = await t.send('OPTIONS', '/files', {});
      expect(reply.headers['tus-extension']?.split(',')).to.deep.equal(ADVERTISED);
    },
  },
  {
    id: 'creation-201-location',
    section: `${EXT} / Creation / POST`,
    sentence:
      'The Server MUST acknowledge a successful upload creation with the 201 Created status. The Server MUST set the Location header to the URL of the created resource.',
    async check(t) {
      const reply = await t.tus('POST', '/files', { 'Upload-Length': '10' });
      expect(reply.status).to.equal(201);
      const location = reply.headers.location ?? '';
      expect(location, 'absolute by default').to.match(/^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}$/);
      expect((await t.head(location)).status, 'the URL names the upload').to.equal(200);
    },
  },
  {
    id: 'creation-length-required',
    section: `${EXT} / Creation / POST`,
    sentence: 'The request MUST include one of the following headers: a) Upload-Length ... b) Upload-Defer-Length: 1',
    async check(t) {
      const reply = await t.tus('POST', '/files', {});
      expect(reply.status).to.equal(400);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
      expect(reply.headers.location).to.equal(undefined);
    },
  },
  {
    id: 'creation-defer-length-value',
    section: `${EXT} / Creation / Upload-Defer-Length`,
    sentence:
      'If the Upload-Defer-Length header contains any other value than 1 the server should return a 400 Bad Request status.',
    async check(t) {
      const reply = await t.tus('POST', '/files', { 'Upload-Defer-Length': '2' });
      expect(reply.status).to.equal(400);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
    },
  },
  {
    id: 'creation-defer-length-head',
    section: `${EXT} / Creation / POST (creation-defer-length)`,
    sentence:
      'As long as the length of the upload is not known, the Server MUST set Upload-Defer-Length: 1 in all responses to HEAD requests.',
    async check(t) {
      const url = await t.create({ 'Upload-Defer-Length': '1' });
      expect((await t.patch(url, 0, randomBytes(10))).status).to.equal(204);
      const reply = await t.head(url);
      expect(reply.headers['upload-defer-length']).to.equal('1');
      expect(reply.headers['upload-length']).to.equal(undefined);
    },
  },
  {
    id: 'creation-defer-length-set-once',
    section: `${EXT} / Creation / POST (creation-defer-length)`,
    sentence:
      'If the length was deferred using Upload-Defer-Length: 1, the Client MUST set the Upload-Length header in the next PATCH request, once the length is known. Once set the length MUST NOT be changed.',
    async check(t) {
      const url = await t.create({ 'Upload-Defer-Length': '1' });
      const set = await t.patch(url, 0, randomBytes(10), { 'Upload-Length': '30' });
      expect(set.status).to.equal(204);
      expect((await t.head(url)).headers['upload-length']).to.equal('30');
      const changed = await t.patch(url, 10, randomBytes(10), { 'Upload-Length': '40' });
      expect(changed.status).to.equal(400);
      expect(changed.headers['x-error-type'], 'the error type').to.equal('validation_error');
      expect((await t.head(url)).headers['upload-length']).to.equal('30');
    },
  },
  {
    id: 'creation-empty',
    section: `${EXT} / Creation / POST`,
    sentence:
      'The Upload-Length header MAY be set to 0, indicating that the Client wants to upload an empty file. Such an upload is immediately complete after its creation without transferring data using PATCH requests.',
    async check(t) {
      const reply = await t.tus('POST', '/files', { 'Upload-Length': '0' });
      expect(reply.status).to.equal(201);
      expect(reply.headers['upload-asset-id'], 'complete at once').to.be.a('string');
      const head = await t.head(reply.headers.location ?? '');
      expect([head.headers['upload-offset'], head.headers['upload-length']]).to.deep.equal(['0', '0']);
    },
  },
  {
    id: 'creation-metadata-head',
    section: `${EXT} / Creation / POST`,
    sentence:
      'If an upload contains additional metadata, responses to HEAD requests MUST include the Upload-Metadata header and its value as specified by the Client during the creation.',
    async check(t) {
      const metadata = metadataOf({ filename: 'world_domination_plan.pdf', filetype: 'application/pdf' });
      const url = await t.upload(10, { 'Upload-Metadata': metadata });
      expect((await t.head(url)).headers['upload-metadata']).to.equal(metadata);
    },
  },
  {
    id: 'creation-max-size',
    section: `${EXT} / Creation / POST`,
    sentence:
      'If the length of the upload exceeds the maximum, which MAY be specified using the Tus-Max-Size header, the Server MUST respond with the 413 Request Entity Too Large status.',
    async check(t) {
      const max = Number((await t.send('OPTIONS', '/files', {})).headers['tus-max-size']);
      const reply = await t.tus('POST', '/files', { 'Upload-Length': String(max + 1) });
      expect(reply.status).to.equal(413);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('payload_too_large');
    },
  },
  {
    id: 'creation-with-upload-offset',
    section: `${EXT} / Creation With Upload`,
    sentence:
      'The Server SHOULD accept as many bytes as possible and MUST include the Upload-Offset header in the response and MUST set its value to the offset of the upload after applying the accepted bytes.',
    async check(t) {
      const reply = await t.tus(
        'POST',
        '/files',
        { 'Upload-Length': '100', 'Content-Type': OFFSET_STREAM },
        randomBytes(60),
      );
      expect(reply.status).to.equal(201);
      expect(reply.headers['upload-offset']).to.equal('60');
      expect(await t.offset(reply.headers.location ?? '')).to.equal(60);
    },
  },
  {
    id: 'creation-with-upload-content-type',
    section: `${EXT} / Creation With Upload`,
    sentence:
      'The Client MUST include the Content-Type: application/offset+octet-stream header. (similar rules as for the PATCH request apply: 415)',
    async check(t) {
      const reply = await t.tus(
        'POST',
        '/files',
        { 'Upload-Length': '100', 'Content-Type': 'text/plain' },
        randomBytes(60),
      );
      expect(reply.status).to.equal(415);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('unsupported_media_type');
      expect(reply.headers.location).to.equal(undefined);
    },
  },
  {
    id: 'expiration-patch-header',
    section: `${EXT} / Expiration / Upload-Expires`,
    sentence:
      'This header MUST be included in every PATCH response if the upload is going to expire. If the expiration is known at the creation, the Upload-Expires header MUST be included in the response to the initial POST request. Its value MUST be in RFC 9110 datetime format.',
    async check(t) {
      const created = await t.tus('POST', '/files', { 'Upload-Length': '100' });
      const imf = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
      expect(created.headers['upload-expires']).to.match(imf);
      const patched = await t.patch(created.headers.location ?? '', 0, randomBytes(10));
      expect(patched.headers['upload-expires']).to.match(imf);
      expect(Date.parse(patched.headers['upload-expires'] ?? '')).to.be.greaterThan(Date.now());
    },
  },
];

/** Expiration against a server whose sessions expire after a second (its own row set). */
export const EXPIRY_ROW: Requirement = {
  id: 'expiration-gone',
  section: `${EXT} / Expiration / Upload-Expires`,
  sentence:
    'If a Client does attempt to resume an upload which has since been removed by the Server, the Server SHOULD respond with the 404 Not Found or 410 Gone status. The latter one SHOULD be used if the Server is keeping track of expired uploads.',
  async check(t: Conformance) {
    const url = await t.upload(100);
    const expires = Date.parse((await t.head(url)).headers['upload-expires'] ?? '');
    const reply = await waitFor(
      async () => {
        const head = await t.head(url);
        return head.status !== 200 && head;
      },
      { what: 'the upload to expire', intervalMs: 100 },
    );
    expect(Date.now()).to.be.at.least(expires - 1000);
    expect(reply.status).to.equal(410);
    expect(reply.headers['x-error-type'], 'the error type').to.equal('gone');
    const patch = await t.patch(url, 0, randomBytes(10));
    expect(patch.status).to.equal(410);
    expect(patch.headers['x-error-type']).to.equal('gone');
  },
};
