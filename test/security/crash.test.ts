// Requests that took the whole process down (finding 2): a GET under the tus path that was not
// exactly {TUS_PATH}/{id} reached @tus/server's GetHandler, whose Web stream threw an uncaught
// ERR_INVALID_STATE when the client hung up. Run against a server process of its own, so a crash
// shows as an exit; every shape is sent three times reading the whole answer (as curl -o /dev/null
// does) and three times hanging up at its first byte.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { expect } from 'chai';
import { removeDir, tempDir } from '../helpers/files.js';
import { type ChildServer, startChildServer } from '../helpers/server.js';
import { tokenFor, uniqueOwner } from '../helpers/tokens.js';
import { createUpload, patchUpload } from '../helpers/tus-http.js';

/**
 * Sends a GET on a connection of its own and hangs up: as curl does, once the whole answer is read
 * (`whole`), or at its first byte.
 */
function getAndHangUp(url: string, path: string, token: string, whole: boolean): Promise<number | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const req = http.request({
      host: hostname,
      port: Number(port),
      path,
      agent: false,
      headers: { Authorization: `Bearer ${token}` },
    });
    const timer = setTimeout(() => req.destroy(), 2000);
    req.on('response', (res) => {
      clearTimeout(timer);
      if (whole) res.resume();
      else res.once('data', () => req.destroy());
      res.once('end', () => req.destroy());
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

describe('security: requests that crashed the server', () => {
  let dataDir: string;
  let server: ChildServer;
  const owner = uniqueOwner('crash');

  before(async function () {
    this.timeout(60_000);
    dataDir = await tempDir('upload-test-crash-');
    server = await startChildServer(dataDir);
  });
  after(async () => {
    await server?.kill('SIGKILL');
    await removeDir(dataDir);
  });

  it('keeps serving after GETs of odd paths under the tus endpoint whose clients hang up', async () => {
    const data = randomBytes(256 * 1024);
    const done = await createUpload(server.tusUrl, { owner, length: data.length });
    expect((await patchUpload(done.url, 0, data, { owner })).status).to.equal(204);
    const open = await createUpload(server.tusUrl, { owner, length: 1000 });
    const token = tokenFor(owner);
    const shapes = [
      `/files/x/${done.id}`,
      `/files/${done.id}?x=1`,
      `/files/${done.id}/`,
      `/files/x/${open.id}`,
      `/files/${open.id}?download=1`,
      `/files/%2e%2e/files/${done.id}`,
    ];
    for (const path of shapes) {
      for (const whole of [true, false]) {
        for (let round = 0; round < 3; round++) {
          const status = await getAndHangUp(server.url, path, token, whole);
          expect(status, `GET ${path}`).to.be.oneOf([200, 404, undefined]);
        }
      }
    }
    expect(server.process.exitCode, 'the server process is still running').to.equal(null);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).to.equal(200);
    // and the upload that was downloaded is still whole
    const again = await fetch(done.url, { headers: { Authorization: `Bearer ${token}` } });
    expect(Buffer.from(await again.arrayBuffer()).equals(data)).to.equal(true);
  });
});
