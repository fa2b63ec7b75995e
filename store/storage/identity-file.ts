// DATA_DIR/identity.json: the data directory's half of its binding to a database (the other half is
// the data_identity row). Written atomically (a temporary file, fsynced, renamed, directory
// fsynced) so a crash leaves the old file or the new one, never a torn one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { StartRefusedError } from '../../db/start-refused.js';
import { syncDirectory } from './layout.js';

export const IDENTITY_FILE = 'identity.json';

const IdentityFileSchema = z.object({
  identity: z.uuid(),
  /** The database it was bound to, for messages (its password hidden). */
  database: z.string(),
  boundAt: z.string(),
});

export type IdentityFile = z.infer<typeof IdentityFileSchema>;

export function identityFilePath(dataDir: string): string {
  return path.join(dataDir, IDENTITY_FILE);
}

/** The file's content; undefined when there is none. A file that is not one refuses the start. */
export async function readIdentityFile(dataDir: string): Promise<IdentityFile | undefined> {
  const file = identityFilePath(dataDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: ReturnType<typeof IdentityFileSchema.safeParse>;
  try {
    parsed = IdentityFileSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = IdentityFileSchema.safeParse(undefined);
  }
  if (!parsed.success) {
    throw new StartRefusedError(
      `DATA_DIR=${dataDir}: ${file} is not a data directory identity (expected {"identity": "<uuid>", ...}); ` +
        'restore it from a backup, or copy the identity from the data_identity table of the database this directory belongs to',
    );
  }
  return parsed.data;
}

export async function writeIdentityFile(dataDir: string, content: IdentityFile): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = identityFilePath(dataDir);
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(`${JSON.stringify(content, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dataDir);
}
