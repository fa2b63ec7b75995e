// A 60 MiB file through the REST chunk routes: chunks shuffled and sent four at a time, completed,
// then downloaded whole and by two Ranges, every byte compared with the source.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { sha256 } from '../../helpers/files.js';
import { runPool, shuffled } from '../../helpers/pool.js';
import { chunkNumbers, chunkOf, uniqueOwner } from '../../helpers/rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { StorageApi } from '../../helpers/storage-api.js';

const MiB = 1024 * 1024;

describe('a 60 MiB upload through the REST chunk routes', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  it('sends shuffled chunks 4 at a time, completes, and downloads whole and by Range byte-identical', async () => {
    const api = new StorageApi(server.url, uniqueOwner('dave'));
    // not a multiple of the chunk size, so the last chunk is short
    const data = randomBytes(60 * MiB - 12_345);
    const created = await api.initiate({
      filename: 'big.bin',
      file_size: data.length,
      asset_type: 'video',
      content_type: 'video/mp4',
      chunk_size: 5 * MiB,
    });
    const C = created.chunk_size;
    expect(C).to.equal(5 * MiB);
    expect(created.total_chunks).to.equal(12);

    const order = shuffled(chunkNumbers(data.length, C));
    const peak = await runPool(order, 4, async (n) => {
      await api.chunk(created.session_id, n, chunkOf(data, n, C));
    });
    expect(peak, 'chunks in flight at once').to.equal(4);

    const view = await api.status(created.session_id);
    expect(view.missing_chunks).to.deep.equal([]);
    expect(view.offset).to.equal(data.length);

    const asset = await api.complete(created.session_id);
    expect(asset).to.include({ size: data.length, sha256: sha256(data), content_type: 'video/mp4' });

    const whole = await api.download(asset.asset_id);
    expect(whole.status).to.equal(200);
    expect(whole.headers.get('content-length')).to.equal(String(data.length));
    expect(whole.headers.get('accept-ranges')).to.equal('bytes');
    expect(whole.bytes.equals(data), 'whole download equals the source').to.equal(true);

    // one Range across three chunk boundaries, one at the very end
    const ranges: [number, number][] = [
      [C - 100, 3 * C + 99],
      [data.length - 1_000_000, data.length - 1],
    ];
    for (const [start, end] of ranges) {
      const part = await api.download(asset.asset_id, { Range: `bytes=${start}-${end}` });
      expect(part.status).to.equal(206);
      expect(part.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${data.length}`);
      expect(part.bytes.length).to.equal(end - start + 1);
      expect(part.bytes.equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`).to.equal(true);
    }
  });
});
