import { expect } from 'chai';
import { randomFile, removeDir, sha256File, tempDir } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tusUploadFile } from '../helpers/tus.js';

describe('smoke', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(dir);
  });

  it('uploads a file with tus-js-client into an asset', async () => {
    const file = await randomFile(dir, 12 * 1024 * 1024 + 7);
    const result = await tusUploadFile(server.tusUrl, file, { chunkSize: 3 * 1024 * 1024 });
    expect(result.assetId).to.be.a('string');
    const asset = await server.assets.find(result.assetId ?? '');
    expect(asset?.sha256).to.equal(await sha256File(file));
  });
});
