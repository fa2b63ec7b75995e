// The URLs the server hands out (tus Location and Upload-Concat, the draft's 104, REST upload_url):
// absolute from the request's Host by default; forwarded scheme and host only from a peer
// TRUST_PROXY names; PUBLIC_URL over everything; RELATIVE_URLS for paths alone; and bad settings
// refused at start.
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../server/config/config.js';
import { requestRawPath } from '../../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tokenFor, uniqueOwner } from '../../helpers/tokens.js';

const ID = /[0-9a-f]{32}$/;

/** POST /files and POST /storage/chunked-upload with these headers: the Location and upload_url. */
async function urlsFrom(server: TestServer, headers: Record<string, string>): Promise<[string, string]> {
  const auth = { Authorization: `Bearer ${tokenFor(uniqueOwner('urls'))}` };
  const tus = await requestRawPath(server.url, 'POST', '/files', {
    ...auth,
    'Tus-Resumable': '1.0.0',
    'Upload-Length': '10',
    ...headers,
  });
  expect(tus.status, tus.body).to.equal(201);
  const rest = await requestRawPath(
    server.url,
    'POST',
    '/storage/chunked-upload',
    { ...auth, 'Content-Type': 'application/json', ...headers },
    Buffer.from(JSON.stringify({ filename: 'a.bin', file_size: 10, asset_type: 'other' })),
  );
  expect(rest.status, rest.body).to.equal(201);
  return [String(tus.headers.location), (JSON.parse(rest.body) as { upload_url: string }).upload_url];
}

describe('upload URLs', () => {
  const servers: TestServer[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const server = await startTestServer(env);
    servers.push(server);
    return server;
  };
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('are absolute, from the Host the client sent, by default; forwarded headers are ignored', async () => {
    const server = await start();
    const urls = await urlsFrom(server, {
      Host: 'uploads.example.com:8443',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'evil.example',
      Forwarded: 'proto=https;host=evil.example',
    });
    for (const url of urls)
      expect(url)
        .to.match(/^http:\/\/uploads\.example\.com:8443\/files\//)
        .and.match(ID);
  });

  it('take scheme and host from X-Forwarded-* or Forwarded only when TRUST_PROXY names the peer', async () => {
    const trusting = await start({ TRUST_PROXY: 'loopback' });
    const forwarded = await urlsFrom(trusting, { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'cdn.example' });
    for (const url of forwarded) expect(url).to.match(/^https:\/\/cdn\.example\/files\//);
    const standard = await urlsFrom(trusting, { Forwarded: 'for=1.2.3.4;proto=https;host=std.example, for=5.6.7.8' });
    for (const url of standard) expect(url).to.match(/^https:\/\/std\.example\/files\//);
    // a forwarded host that is not a host name is not used
    const junk = await urlsFrom(trusting, { 'X-Forwarded-Host': 'a b/c', Host: 'real.example' });
    for (const url of junk) expect(url).to.match(/^http:\/\/real\.example\/files\//);
    const other = await start({ TRUST_PROXY: '10.0.0.0/8' });
    for (const url of await urlsFrom(other, { 'X-Forwarded-Proto': 'https', Host: 'h.example' })) {
      expect(url, 'the test client is not in 10.0.0.0/8').to.match(/^http:\/\/h\.example\//);
    }
  });

  it('start with PUBLIC_URL when it is set, path prefix included', async () => {
    const server = await start({ PUBLIC_URL: 'https://uploads.example.com/api/', TRUST_PROXY: 'true' });
    for (const url of await urlsFrom(server, { 'X-Forwarded-Host': 'other.example' })) {
      expect(url)
        .to.match(/^https:\/\/uploads\.example\.com\/api\/files\//)
        .and.match(ID);
    }
  });

  it('are paths with RELATIVE_URLS=1, in Upload-Concat too', async () => {
    const server = await start({ RELATIVE_URLS: '1' });
    const [location, uploadUrl] = await urlsFrom(server, {});
    expect(location).to.match(/^\/files\//);
    expect(uploadUrl).to.match(/^\/files\//);
    const auth = { Authorization: `Bearer ${tokenFor(uniqueOwner('relative'))}`, 'Tus-Resumable': '1.0.0' };
    const part = await requestRawPath(server.url, 'POST', '/files', {
      ...auth,
      'Upload-Length': '0',
      'Upload-Concat': 'partial',
    });
    const partUrl = String(part.headers.location);
    expect(partUrl).to.match(/^\/files\//);
    const final = await requestRawPath(server.url, 'POST', '/files', { ...auth, 'Upload-Concat': `final;${partUrl}` });
    expect(final.headers['upload-concat']).to.equal(`final;${partUrl}`);
  });

  it('refuse a PUBLIC_URL or TRUST_PROXY that is not one', () => {
    const base = { JWT_SECRET: 'x'.repeat(40) };
    for (const env of [
      { PUBLIC_URL: 'uploads.example.com' },
      { PUBLIC_URL: 'https://uploads.example.com/?a=1' },
      { PUBLIC_URL: 'ftp://uploads.example.com' },
      { TRUST_PROXY: '999.1.1.1' },
      { TRUST_PROXY: 'loopback, nonsense' },
    ]) {
      expect(() => loadConfig({ ...base, ...env }), JSON.stringify(env)).to.throw(
        ConfigError,
        /PUBLIC_URL|TRUST_PROXY/,
      );
    }
    expect(loadConfig({ ...base, TRUST_PROXY: 'loopback, 10.0.0.0/8' }).urls.trustProxy).to.deep.equal([
      'loopback',
      '10.0.0.0/8',
    ]);
  });
});
