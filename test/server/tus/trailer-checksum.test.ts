// checksum-trailer beyond the conformance rows: a body that ends without the trailer it announced,
// a checksum sent both ways, a trailer on a body that is not chunked, and a malformed trailer are
// 400s that keep nothing; a trailer on a creation's body works like one on a PATCH.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { rawRequest } from '../../conformance/harness.js';
import { socketExchange } from '../../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tokenFor, uniqueOwner } from '../../helpers/tokens.js';
import { createUpload, headOffset } from '../../helpers/tus-http.js';

const sha1 = (data: Buffer) => `sha1 ${createHash('sha1').update(data).digest('base64')}`;

describe('checksum-trailer', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  const patchHead = (url: string, owner: string, extra: string[]) =>
    [
      `PATCH ${new URL(url).pathname} HTTP/1.1`,
      'Host: 127.0.0.1',
      `Authorization: Bearer ${tokenFor(owner)}`,
      'Tus-Resumable: 1.0.0',
      'Content-Type: application/offset+octet-stream',
      'Upload-Offset: 0',
      ...extra,
      '',
      '',
    ].join('\r\n');

  it('keeps nothing of a body that ends without the trailer it announced (400)', async () => {
    const owner = uniqueOwner('trailer-missing');
    const { url } = await createUpload(server.tusUrl, { owner, length: 10 });
    const request = `${patchHead(url, owner, ['Transfer-Encoding: chunked', 'Trailer: Upload-Checksum'])}a\r\n0123456789\r\n0\r\n\r\n`;
    const exchange = await socketExchange(server.url, [Buffer.from(request)], { untilStatuses: 1 });
    expect(exchange.statuses).to.deep.equal([400]);
    expect(exchange.response).to.match(/without the Upload-Checksum trailer/);
    expect(await headOffset(url, owner)).to.equal(0);
  });

  it('refuses a checksum sent as a header and a trailer, a trailer without a chunked body, and a malformed trailer', async () => {
    const owner = uniqueOwner('trailer-bad');
    const { url } = await createUpload(server.tusUrl, { owner, length: 10 });
    const both = `${patchHead(url, owner, ['Transfer-Encoding: chunked', 'Trailer: Upload-Checksum', `Upload-Checksum: ${sha1(Buffer.from('0123456789'))}`])}a\r\n0123456789\r\n0\r\n\r\n`;
    const sized = `${patchHead(url, owner, ['Content-Length: 10', 'Trailer: Upload-Checksum'])}0123456789`;
    for (const request of [both, sized]) {
      const exchange = await socketExchange(server.url, [Buffer.from(request)], { untilStatuses: 1 });
      expect(exchange.statuses).to.deep.equal([400]);
    }
    const malformed = await rawRequest(server.url, {
      method: 'PATCH',
      url,
      headers: {
        Authorization: `Bearer ${tokenFor(owner)}`,
        'Tus-Resumable': '1.0.0',
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': '0',
      },
      chunked: { pieces: [Buffer.from('0123456789')], trailers: { 'Upload-Checksum': 'sha1' } },
    });
    expect(malformed.status).to.equal(400);
    expect(malformed.headers['x-error-type'], 'the error type').to.equal('validation_error');
    expect(await headOffset(url, owner)).to.equal(0);
  });

  it('checks a trailer on a creation body (creation-with-upload)', async () => {
    const owner = uniqueOwner('trailer-create');
    const data = randomBytes(5000);
    const reply = await rawRequest(server.url, {
      method: 'POST',
      url: '/files',
      headers: {
        Authorization: `Bearer ${tokenFor(owner)}`,
        'Tus-Resumable': '1.0.0',
        'Upload-Length': '5000',
        'Content-Type': 'application/offset+octet-stream',
      },
      chunked: { pieces: [data.subarray(0, 2000), data.subarray(2000)], trailers: { 'Upload-Checksum': sha1(data) } },
    });
    expect(reply.status, reply.body).to.equal(201);
    expect(reply.headers['upload-offset']).to.equal('5000');
    expect(reply.headers['upload-asset-id']).to.be.a('string');
  });
});
