// The idle memory release: once uploads stop, the write blocks kept for reuse are let go (and a
// full collection runs); while uploads keep coming, they are kept.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { releaseMemoryWhenIdle } from '../../../server/ops/idle-memory.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { uniqueOwner } from '../../helpers/tokens.js';
import { tusUploadSource } from '../../helpers/tus.js';
import { waitFor } from '../../helpers/wait.js';

describe('idle memory release', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it('lets the kept write blocks go and trims the C heap once no upload has been written to for the idle time', async () => {
    let trims = 0;
    const stop = releaseMemoryWhenIdle(server.service.writes, server.log, { idleMs: 300, trimHeap: () => trims++ });
    try {
      const result = await tusUploadSource(server.tusUrl, randomBytes(3 * 1024 * 1024), { owner: uniqueOwner('idle') });
      expect(result.assetId).to.be.a('string');
      // the upload's blocks came back to the pool when it ended
      expect(server.service.writes.keptBufferBytes).to.be.greaterThan(0);
      await waitFor(async () => server.service.writes.keptBufferBytes === 0, {
        what: 'the kept blocks to be released',
      });
      // once at once, and once more an idle period later
      await waitFor(async () => trims === 2, { what: 'the heap to be trimmed twice' });
    } finally {
      stop();
    }
  });

  it('keeps them while uploads keep coming', async () => {
    let trims = 0;
    const stop = releaseMemoryWhenIdle(server.service.writes, server.log, { idleMs: 1500, trimHeap: () => trims++ });
    try {
      const owner = uniqueOwner('busy');
      const started = Date.now();
      // back-to-back uploads for longer than the idle time: never quiet long enough
      while (Date.now() - started < 2500) {
        await tusUploadSource(server.tusUrl, randomBytes(512 * 1024), { owner });
      }
      expect(server.service.writes.keptBufferBytes).to.be.greaterThan(0);
      expect(trims).to.equal(0);
    } finally {
      stop();
    }
  });
});
