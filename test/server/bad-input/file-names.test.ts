// Bad input to the tus endpoint: file names in Upload-Metadata that try to leave the asset
// directory (../, NUL) are stored under DATA_DIR/assets or refused, never a server error.
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { randomFile, removeDir, tempDir } from '../../helpers/files.js';
import { startTestServerAt, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadFile } from '../../helpers/tus.js';
import { encodeMetadata, OFFSET_CONTENT_TYPE, tusRequest } from '../../helpers/tus-http.js';
import { expectAssetOf, listFiles } from '../../helpers/uploads.js';
import { expectStatus } from './setup.js';

describe('bad input: file names that try to leave the asset directory', () => {
  let parent: string;
  let dataDir: string;
  let server: TestServer;
  let dir: string;
  before(async () => {
    parent = await tempDir('upload-test-jail-');
    dataDir = path.join(parent, 'data');
    await mkdir(dataDir);
    server = await startTestServerAt(dataDir);
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await removeDir(parent);
    await removeDir(dir);
  });

  async function uploadNamed(filename: string): Promise<string> {
    const owner = uniqueOwner('names');
    const file = await randomFile(dir, 4321, 'named.bin');
    const result = await tusUploadFile(server.tusUrl, file, { owner, metadata: { filename } });
    const asset = await expectAssetOf(server, result.assetId, file);
    // assets/{owner}/{asset id}/{one safe segment}
    const segments = asset.storagePath.split(path.sep);
    expect(segments.slice(0, 3)).to.deep.equal(['assets', owner, asset.id]);
    expect(segments).to.have.length(4);
    const name = segments[3] ?? '';
    expect(name).to.not.match(/^\.|[/\\\0]/);
    expect(asset.filename).to.not.include('\0');
    // nothing was written beside DATA_DIR, and no directory was made from the name's parts
    expect(await readdir(parent)).to.deep.equal(['data']);
    const everything = await listFiles(parent);
    expect(everything.filter((f) => f.split(path.sep).includes('etc'))).to.deep.equal([]);
    expect(everything).to.include(path.join('data', asset.storagePath));
    return name;
  }

  it('stores a file named ../../etc/passwd under DATA_DIR/assets', async () => {
    expect(await uploadNamed('../../etc/passwd')).to.equal('passwd');
  });

  it('stores a file name with a NUL byte under DATA_DIR/assets, without the NUL', async () => {
    expect(await uploadNamed('evil\0name.bin')).to.equal('evilname.bin');
  });

  it('answers a raw POST whose metadata decodes to a NUL-laden path without a server error', async () => {
    const owner = uniqueOwner('names');
    const reply = await tusRequest('POST', server.tusUrl, {
      owner,
      headers: {
        'Upload-Length': '3',
        'Upload-Metadata': encodeMetadata({ filename: '../\0../x' }),
        'Content-Type': OFFSET_CONTENT_TYPE,
      },
      body: Buffer.from('abc'),
    });
    expectStatus(reply, 201);
    expect(reply.headers.get('upload-asset-id')).to.be.a('string');
  });
});
