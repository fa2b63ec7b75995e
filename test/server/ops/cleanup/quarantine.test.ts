// The cleanup quarantine: files on disk that no session or asset owns are moved into
// DATA_DIR/quarantine, byte for byte, and deleted from there only after QUARANTINE_RETENTION.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import type { CleanupReport } from '../../../../server/ops/cleanup.js';
import { removeDir, tempDir } from '../../../helpers/files.js';
import { startTestServerAt } from '../../../helpers/server.js';
import { uniqueOwner } from '../../../helpers/tokens.js';
import { waitFor } from '../../../helpers/wait.js';
import { exists, expectQuarantined, plantOrphans } from './setup.js';

describe('cleanup', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await removeDir(dir);
  });

  describe('the quarantine', () => {
    it('keeps orphans for QUARANTINE_RETENTION, then deletes them; leaves what it did not put there alone', async () => {
      const dataDir = await tempDir('upload-test-quarantine-');
      const env = { ORPHAN_GRACE: '1ms', QUARANTINE_RETENTION: '1h' };
      const orphans = await plantOrphans(dataDir, uniqueOwner('nobody'));
      // not the sweep's: something an operator put into the quarantine directory
      const note = path.join(dataDir, 'quarantine', 'restore-notes', 'kept.txt');
      await mkdir(path.dirname(note), { recursive: true });
      await writeFile(note, 'moved back asset 42');
      let sweep: string;
      const keeping = await startTestServerAt(dataDir, env);
      try {
        const first = (await keeping.cleanup()) as CleanupReport;
        expect(first).to.include({ orphanUploadFiles: 2, orphanAssetDirs: 1, quarantinePurged: 0 });
        sweep = await expectQuarantined(dataDir, orphans);
        const metrics = await (await fetch(`${keeping.url}/metrics`)).text();
        expect(metrics).to.include('upload_cleanup_quarantined_total{kind="orphan_upload_files"} 2');
        expect(metrics).to.include('upload_cleanup_quarantined_total{kind="orphan_asset_dirs"} 1');

        // within the retention, later sweeps leave the quarantine as it is
        const second = (await keeping.cleanup()) as CleanupReport;
        expect(second).to.include({ orphanUploadFiles: 0, orphanAssetDirs: 0, quarantinePurged: 0 });
        expect(await expectQuarantined(dataDir, orphans)).to.equal(sweep);
      } finally {
        await keeping.close();
      }

      const short = await startTestServerAt(dataDir, { ...env, QUARANTINE_RETENTION: '50ms' });
      try {
        const sweptAt = Date.parse(sweep.replace(/T(\d\d)-(\d\d)-/, 'T$1:$2:'));
        await waitFor(() => Date.now() > sweptAt + 60, { what: 'the quarantined files to pass QUARANTINE_RETENTION' });
        const third = (await short.cleanup()) as CleanupReport;
        expect(third.quarantinePurged, 'two upload files and one asset directory').to.equal(3);
        expect(await exists(path.join(dataDir, 'quarantine', sweep)), 'the sweep directory deleted').to.equal(false);
        expect(await readFile(note, 'utf8'), 'a directory the sweep did not make is kept').to.equal(
          'moved back asset 42',
        );
        const metrics = await (await fetch(`${short.url}/metrics`)).text();
        expect(metrics).to.include('upload_cleanup_removed_total{kind="quarantine_expired"} 3');
      } finally {
        await short.stop();
      }
    });
  });
});
