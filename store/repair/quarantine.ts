// Where the cleanup sweep puts files it cannot explain instead of deleting them:
// DATA_DIR/quarantine/<sweep time>/<path under DATA_DIR>, moved by a rename (same file system, no
// copy). A file taken for an orphan by mistake (a database restored from an older backup, a wrong
// DATABASE_URL) can be moved back; only after QUARANTINE_RETENTION is a sweep's directory deleted.
// Names under quarantine/ that are not a sweep time are not ours and are left alone.
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

const SWEEP_NAME = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d(?:\.\d{3})?)Z$/;

export interface PurgeReport {
  /** Sweep directories deleted. */
  sweeps: number;
  /** Upload files and asset directories in them. */
  items: number;
}

export class Quarantine {
  readonly dir: string;

  constructor(readonly dataDir: string) {
    this.dir = path.join(dataDir, 'quarantine');
  }

  /** The directory of one sweep, named after its time (2026-12-03T15-42-22.123Z). */
  sweepDir(at: Date): string {
    return path.join(this.dir, at.toISOString().replace(/:/g, '-'));
  }

  /** Moves DATA_DIR/<relative> to <sweepDir>/<relative>; returns where it went. */
  async hold(sweepDir: string, relative: string): Promise<string> {
    const from = path.join(this.dataDir, relative);
    const to = path.join(sweepDir, relative);
    await mkdir(path.dirname(to), { recursive: true });
    await rename(from, to);
    return to;
  }

  /** Deletes the sweep directories quarantined before `before`. */
  async purge(before: Date): Promise<PurgeReport> {
    const report: PurgeReport = { sweeps: 0, items: 0 };
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const at = sweepTime(name);
      if (!at || at >= before) continue;
      const dir = path.join(this.dir, name);
      report.items += await countItems(dir);
      await rm(dir, { recursive: true, force: true });
      report.sweeps++;
    }
    return report;
  }
}

function sweepTime(name: string): Date | undefined {
  const match = SWEEP_NAME.exec(name);
  if (!match) return undefined;
  const at = new Date(`${match[1]}T${match[2]}:${match[3]}:${match[4]}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** Upload files (uploads/<name>) and asset directories (assets/<owner>/<id>) under a sweep directory. */
async function countItems(sweepDir: string): Promise<number> {
  const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
  let items = (await list(path.join(sweepDir, 'uploads'))).length;
  for (const owner of await list(path.join(sweepDir, 'assets'))) {
    items += (await list(path.join(sweepDir, 'assets', owner))).length;
  }
  return items;
}
