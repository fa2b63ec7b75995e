// Fingerprints of unfinished uploads in a small JSON file, so a new process (the CLI run again
// after Ctrl-C) finds the upload to resume. Writes go through a temporary file and a rename, so a
// crash never leaves half a file; entries older than a week are dropped.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PreviousUpload, UrlStorage } from 'tus-js-client';

const MAX_AGE_MS = 7 * 24 * 3600_000;

type Entries = Record<string, Omit<PreviousUpload, 'urlStorageKey'>>;

/** ~/.upload-client/resume.json: where uploads are remembered unless the caller names a file. */
export function defaultResumeFile(): string {
  return path.join(os.homedir(), '.upload-client', 'resume.json');
}

export class JsonFileUrlStorage implements UrlStorage {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string = defaultResumeFile()) {}

  async findAllUploads(): Promise<PreviousUpload[]> {
    return this.matching('');
  }

  async findUploadsByFingerprint(fingerprint: string): Promise<PreviousUpload[]> {
    return this.matching(`${fingerprint}::`);
  }

  removeUpload(urlStorageKey: string): Promise<void> {
    return this.change((entries) => {
      delete entries[urlStorageKey];
    });
  }

  async addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    const key = `${fingerprint}::${randomBytes(6).toString('hex')}`;
    const { urlStorageKey: _ignored, ...entry } = upload;
    await this.change((entries) => {
      entries[key] = entry;
    });
    return key;
  }

  private async matching(prefix: string): Promise<PreviousUpload[]> {
    // after the changes already asked for, so a lookup sees what was just added
    await this.queue;
    const entries = await this.read();
    return Object.entries(entries)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, entry]) => ({ ...entry, urlStorageKey: key }));
  }

  private async read(): Promise<Entries> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as { uploads?: Entries };
      return parsed.uploads ?? {};
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return {};
      throw error;
    }
  }

  /** Read, change and write, one change at a time within this process. */
  private change(edit: (entries: Entries) => void): Promise<void> {
    const next = this.queue.then(async () => {
      const entries = await this.read();
      edit(entries);
      const now = Date.now();
      for (const [key, entry] of Object.entries(entries)) {
        if (now - Date.parse(entry.creationTime) > MAX_AGE_MS) delete entries[key];
      }
      await mkdir(path.dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temp, `${JSON.stringify({ version: 1, uploads: entries }, null, 2)}\n`, { mode: 0o600 });
      await rename(temp, this.file);
    });
    this.queue = next.catch(() => {});
    return next;
  }
}
