// Live progress across instances: a subscriber on one instance follows an upload sent through
// another (with PostgreSQL, a separate process and LISTEN/NOTIFY; with the embedded database, a
// second server on the same database).
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { removeDir, tempDir } from '../../helpers/files.js';
import { bearer, uniqueOwner } from '../../helpers/rest.js';
import { startChildServer, startTestServer } from '../../helpers/server.js';
import { openEventStream, type SseEvent } from '../../helpers/sse.js';
import { tusUploadSource } from '../../helpers/tus.js';
import { createUpload } from '../../helpers/tus-http.js';

const MiB = 1024 * 1024;
const CHUNK = 5 * MiB;
const of = (type: string) => (e: SseEvent) => e.event === type;

describe('live progress across two instances', () => {
  it('follows on one instance an upload sent through another', async () => {
    const url = process.env.DATABASE_URL;
    // with PostgreSQL: a separate process uploads and LISTEN/NOTIFY carries the news across;
    // with the embedded database: a second server on the same database object
    const subscriber = await startTestServer(url ? { DATABASE_URL: url } : {});
    const dir = await tempDir('upload-test-child-');
    const uploader = url
      ? await startChildServer(dir, { CHUNK_SIZE: '5MiB' })
      : await startTestServer({ CHUNK_SIZE: '5MiB' });
    try {
      const owner = uniqueOwner('sse-two');
      const data = randomBytes(11 * MiB);
      const upload = await createUpload(uploader.tusUrl, { owner, length: data.length });
      const stream = await openEventStream(
        `${subscriber.url}/storage/chunked-upload/${upload.id}/events`,
        bearer(owner),
      );
      await stream.next(of('created'));
      const result = await tusUploadSource(uploader.tusUrl, data, { owner, uploadUrl: upload.url, chunkSize: CHUNK });
      const completed = await stream.next(of('completed'), 'completed from the other instance');
      await stream.waitEnded();
      expect(completed.data.asset_id).to.equal(result.assetId);
      const offsets = stream.events.filter(of('progress')).map((e) => e.data.offset);
      expect(offsets).to.deep.equal([CHUNK, 2 * CHUNK, data.length]);
    } finally {
      if ('kill' in uploader) await uploader.kill('SIGTERM');
      else await uploader.stop();
      await subscriber.stop();
      await removeDir(dir);
    }
  });
});
