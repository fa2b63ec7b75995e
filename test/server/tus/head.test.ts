// HEAD's framing: its answer says how long a GET's content would be, so Node's HTTP client (which
// tus-js-client uses in Node) keeps the connection for the next request instead of closing it.
import http from 'node:http';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tokenFor, uniqueOwner } from '../../helpers/tokens.js';
import { createUpload, patchUpload, TUS_RESUMABLE, tusRequest } from '../../helpers/tus-http.js';

interface HeadAnswer {
  status: number;
  contentLength: string | undefined;
  /** The request went out on a connection an earlier request had used. */
  reused: boolean;
}

function head(url: string, owner: string, agent: http.Agent): Promise<HeadAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'HEAD',
        agent,
        headers: { 'Tus-Resumable': TUS_RESUMABLE, Authorization: `Bearer ${tokenFor(owner)}` },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentLength: res.headers['content-length'],
            reused: req.reusedSocket,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('tus HEAD', () => {
  const owner = uniqueOwner('head');
  let server: TestServer;
  let agent: http.Agent;

  before(async () => {
    server = await startTestServer();
  });
  beforeEach(() => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  });
  afterEach(() => agent.destroy());
  after(() => server.stop());

  it('keeps the connection: Content-Length 0 while the upload is unfinished', async () => {
    const { url } = await createUpload(server.tusUrl, { owner, length: 5 });
    const first = await head(url, owner, agent);
    const second = await head(url, owner, agent);
    expect(first).to.deep.equal({ status: 200, contentLength: '0', reused: false });
    expect(second).to.deep.equal({ status: 200, contentLength: '0', reused: true });
  });

  it("gives a finished upload's size, what its GET sends, and still keeps the connection", async () => {
    const { url } = await createUpload(server.tusUrl, { owner, length: 5 });
    expect((await patchUpload(url, 0, Buffer.from('hello'), { owner })).status).to.equal(204);
    const first = await head(url, owner, agent);
    const second = await head(url, owner, agent);
    expect(first).to.deep.equal({ status: 200, contentLength: '5', reused: false });
    expect(second).to.deep.equal({ status: 200, contentLength: '5', reused: true });
    const download = await tusRequest('GET', url, { owner });
    expect(download.status).to.equal(200);
    expect(download.body).to.equal('hello');
    expect(download.headers.get('content-length')).to.equal('5');
  });

  it('gives 0 for an upload whose length is deferred', async () => {
    const { url } = await createUpload(server.tusUrl, { owner, deferLength: true });
    const answer = await head(url, owner, agent);
    expect(answer).to.deep.equal({ status: 200, contentLength: '0', reused: false });
  });
});
