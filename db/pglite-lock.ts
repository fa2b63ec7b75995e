// One process at a time on an embedded database directory: PGlite has no postmaster to keep a
// second opener out, and two processes writing one data directory corrupt it. The owner holds
// `<dir>.lock` (pid, host, start time, command) from open to close; a lock left by a process that
// is gone (same host, pid not running) is taken over, anything else refuses with the holder's name.
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import { StartRefusedError } from './start-refused.js';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export interface DirectoryLock {
  readonly path: string;
  release(): Promise<void>;
}

const ATTEMPTS = 50;

/** Takes the lock of an embedded database directory; throws StartRefusedError while another process holds it. */
export async function lockDirectory(dir: string): Promise<DirectoryLock> {
  const lockPath = `${path.resolve(dir)}.lock`;
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    // the script only: arguments could carry something that must not sit in a readable file
    command: process.argv[1] ? path.relative(process.cwd(), process.argv[1]) || process.argv[1] : process.title,
  };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await createExclusive(lockPath, me)) return held(lockPath, me);
    const holder = await readHolder(lockPath);
    if (holder === 'gone') continue;
    // a lock being written this very moment reads empty: look again before calling it unreadable
    if (holder === undefined && attempt < 3) {
      await pause(20);
      continue;
    }
    if (holder === undefined || !isStale(holder)) throw new StartRefusedError(lockedMessage(dir, lockPath, holder));
    await takeOver(lockPath, holder);
  }
  throw new StartRefusedError(`${dir} (the embedded database): could not take ${lockPath}, it keeps changing hands`);
}

function held(lockPath: string, me: LockHolder): DirectoryLock {
  let released = false;
  return {
    path: lockPath,
    async release() {
      if (released) return;
      released = true;
      // only our own lock: a process that took over a lock we had lost keeps its own
      const holder = await readHolder(lockPath);
      if (typeof holder === 'object' && holder.pid === me.pid && holder.startedAt === me.startedAt) {
        await unlink(lockPath).catch(() => {});
      }
    },
  };
}

async function createExclusive(file: string, holder: LockHolder): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** The holder; 'gone' when the file vanished meanwhile; undefined when it cannot be read as one. */
async function readHolder(file: string): Promise<LockHolder | 'gone' | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') {
      return {
        pid: parsed.pid,
        host: parsed.host,
        startedAt: String(parsed.startedAt),
        command: String(parsed.command),
      };
    }
  } catch {
    // a lock written half-way by a process that died at that moment: not stale by pid, so refuse
  }
  return undefined;
}

/** Only a lock of this host can be judged: its pid no longer runs. */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes a stale lock so the next attempt can create its own. Moved aside first under a name of
 * our own, then checked: if what was moved is not the stale lock read before (another process took
 * it over in between), it is put back.
 */
async function takeOver(lockPath: string, stale: LockHolder): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readHolder(aside);
  if (typeof moved === 'object' && moved.pid === stale.pid && moved.startedAt === stale.startedAt) {
    await unlink(aside).catch(() => {});
    return;
  }
  // someone else's fresh lock: give it back (if a third process made one meanwhile, the moved one
  // stays where it is rather than be deleted)
  try {
    await link(aside, lockPath);
    await unlink(aside);
  } catch {
    // left aside
  }
}

function lockedMessage(dir: string, lockPath: string, holder: LockHolder | undefined): string {
  if (!holder) {
    return `${dir} (the embedded database) is locked by ${lockPath}, which cannot be read: if no upload server or command uses this DATA_DIR, delete that file`;
  }
  const where = holder.host === os.hostname() ? '' : ` on host ${holder.host}`;
  return (
    `${dir} (the embedded database) is in use by process ${holder.pid}${where} (${holder.command || 'unknown command'}, ` +
    `started ${holder.startedAt}): one process at a time may open it, stop that one first (a running server ` +
    `migrates at start and sweeps on CLEANUP_CRON by itself); if process ${holder.pid} is not an upload server or command, delete ${lockPath}`
  );
}
