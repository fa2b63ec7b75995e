// tus 1.0.0 extensions Checksum, Checksum Trailer and Termination: one row per requirement.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { OFFSET_STREAM, type Requirement, TUS } from './harness.js';

const EXT = 'tus 1.0.0 Protocol Extensions';
const sha1 = (data: Buffer) => `sha1 ${createHash('sha1').update(data).digest('base64')}`;

export const INTEGRITY_ROWS: Requirement[] = [
  {
    id: 'checksum-algorithms',
    section: `${EXT} / Checksum`,
    sentence:
      'The Server MUST support at least the SHA1 checksum algorithm identified by sha1. The Tus-Checksum-Algorithm header MUST be included in the response to an OPTIONS request.',
    async check(t) {
      const reply = await t.send('OPTIONS', '/files', {});
      expect(reply.headers['tus-checksum-algorithm']?.split(',')).to.include('sha1');
    },
  },
  {
    id: 'checksum-match',
    section: `${EXT} / Checksum`,
    sentence:
      'Depending on the result the Server MAY respond with one of the following status code: ... 3) 204 No Content if the checksums match and the processing of the data succeeded.',
    async check(t) {
      const url = await t.upload(50);
      const body = randomBytes(50);
      const reply = await t.patch(url, 0, body, { 'Upload-Checksum': sha1(body) });
      expect(reply.status).to.equal(204);
      expect(reply.headers['upload-offset']).to.equal('50');
    },
  },
  {
    id: 'checksum-mismatch',
    section: `${EXT} / Checksum`,
    sentence:
      '460 Checksum Mismatch if the checksums mismatch ... the uploaded chunk MUST be discarded, and the upload and its offset MUST NOT be updated.',
    async check(t) {
      const url = await t.upload(50);
      const reply = await t.patch(url, 0, randomBytes(50), { 'Upload-Checksum': sha1(randomBytes(50)) });
      expect(reply.status).to.equal(460);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('checksum_mismatch');
      expect(await t.offset(url)).to.equal(0);
      // a well-formed digest of the wrong length for its algorithm cannot match either
      const short = await t.patch(url, 0, randomBytes(50), {
        'Upload-Checksum': `sha1 ${randomBytes(8).toString('base64')}`,
      });
      expect(short.status).to.equal(460);
      expect(short.headers['x-error-type'], 'the error type').to.equal('checksum_mismatch');
      expect(await t.offset(url)).to.equal(0);
    },
  },
  {
    id: 'checksum-unsupported',
    section: `${EXT} / Checksum`,
    sentence:
      '400 Bad Request if the checksum algorithm is not supported by the server ... the uploaded chunk MUST be discarded, and the upload and its offset MUST NOT be updated.',
    async check(t) {
      const url = await t.upload(50);
      const reply = await t.patch(url, 0, randomBytes(50), {
        'Upload-Checksum': `whirlpool ${randomBytes(64).toString('base64')}`,
      });
      expect(reply.status).to.equal(400);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('validation_error');
      expect(await t.offset(url)).to.equal(0);
    },
  },
  {
    id: 'checksum-trailer-match',
    section: `${EXT} / Checksum (checksum-trailer)`,
    sentence:
      'If the hash cannot be calculated at the beginning of the upload, it MAY be included as a trailer. If the Server can handle trailers, this behavior MUST be announced by adding checksum-trailer to the Tus-Extension header.',
    async check(t) {
      const url = await t.upload(3000);
      const pieces = [randomBytes(1000), randomBytes(2000)];
      const reply = await t.raw({
        method: 'PATCH',
        url,
        headers: { ...TUS, 'Content-Type': OFFSET_STREAM, 'Upload-Offset': '0' },
        chunked: { pieces, trailers: { 'Upload-Checksum': sha1(Buffer.concat(pieces)) } },
      });
      expect(reply.status, reply.body).to.equal(204);
      expect(reply.headers['upload-offset']).to.equal('3000');
      expect(reply.headers['upload-asset-id']).to.be.a('string');
    },
  },
  {
    id: 'checksum-trailer-mismatch',
    section: `${EXT} / Checksum (checksum-trailer)`,
    sentence:
      'Once the entire request has been received, the Server MUST verify the uploaded chunk against the provided checksum ... 460 Checksum Mismatch ... the uploaded chunk MUST be discarded.',
    async check(t) {
      const url = await t.upload(3000);
      const reply = await t.raw({
        method: 'PATCH',
        url,
        headers: { ...TUS, 'Content-Type': OFFSET_STREAM, 'Upload-Offset': '0' },
        chunked: {
          pieces: [randomBytes(1500), randomBytes(500)],
          trailers: { 'Upload-Checksum': sha1(randomBytes(9)) },
        },
      });
      expect(reply.status).to.equal(460);
      expect(reply.headers['x-error-type'], 'the error type').to.equal('checksum_mismatch');
      expect(await t.offset(url)).to.equal(0);
    },
  },
  {
    id: 'termination-204',
    section: `${EXT} / Termination / DELETE`,
    sentence:
      'When receiving a DELETE request for an existing upload the Server SHOULD free associated resources and MUST respond with the 204 No Content status confirming that the upload was terminated. For all future requests to this URL, the Server SHOULD respond with the 404 Not Found or 410 Gone status.',
    async check(t) {
      const url = await t.upload(100);
      await t.patch(url, 0, randomBytes(10));
      const reply = await t.tus('DELETE', url);
      expect(reply.status).to.equal(204);
      expect((await t.head(url)).status).to.be.oneOf([404, 410]);
      expect((await t.patch(url, 10, randomBytes(10))).status).to.be.oneOf([404, 410]);
    },
  },
  {
    id: 'termination-completed',
    section: `${EXT} / Termination`,
    sentence:
      'This extension defines a way for the Client to terminate completed and unfinished uploads ... MUST respond with the 204 No Content status. (This server keeps the asset a completed upload became.)',
    async check(t) {
      const url = await t.finished(randomBytes(100));
      const assetId = (await t.head(url)).headers['upload-asset-id'];
      const reply = await t.tus('DELETE', url);
      expect(reply.status).to.equal(204);
      expect((await t.head(url)).status).to.be.oneOf([404, 410]);
      expect((await t.send('GET', `/storage/assets/${assetId}`)).status, 'the asset stays').to.equal(200);
    },
  },
];
