// Where bytes live under DATA_DIR: one data file per upload in progress (chunk n is a fixed region
// of it), and assets/{owner}/{asset id}/{filename} once finished. Every name that comes from a
// client is reduced to a safe single path segment here, so nothing can land outside DATA_DIR.
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

const UPLOAD_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_FILENAME_BYTES = 200;

export function isValidUploadId(id: string): boolean {
  return UPLOAD_ID.test(id);
}

/**
 * Control characters (Cc, NUL included), invisible formatting characters (Cf: bidi overrides and
 * isolates such as U+202E that make `invoice<U+202E>fdp.exe` display as `invoiceexe.pdf`,
 * zero-width spaces and joiners, U+FEFF) and line or paragraph separators.
 */
const UNSAFE_IN_NAMES = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * A file name safe as one path segment and honest on screen: no separators, no control or
 * invisible formatting characters, no leading dots, at most 200 bytes of UTF-8. Falls back to "file".
 */
export function safeFilename(name: string | null | undefined): string {
  const base = (name ?? '').split(/[/\\]/).pop() ?? '';
  let cleaned = base.replace(UNSAFE_IN_NAMES, '').trim();
  cleaned = cleaned.replace(/^\.+/, '');
  while (Buffer.byteLength(cleaned, 'utf8') > MAX_FILENAME_BYTES) {
    cleaned = Array.from(cleaned).slice(0, -1).join('');
  }
  return cleaned.length > 0 ? cleaned : 'file';
}

/** Content-Disposition of a downloaded object: attachment, its name in ASCII and in UTF-8. */
export function attachmentOf(filename: string): string {
  const name = safeFilename(filename);
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** An owner id (a JWT `sub`, any string) as a directory name. */
export function safeSegment(value: string): string {
  const cleaned = value
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 100);
  return cleaned.length > 0 ? cleaned : '_';
}

export class StorageLayout {
  readonly uploadsDir: string;
  readonly assetsDir: string;

  constructor(readonly dataDir: string) {
    this.uploadsDir = path.join(dataDir, 'uploads');
    this.assetsDir = path.join(dataDir, 'assets');
  }

  async init(): Promise<void> {
    await mkdir(this.uploadsDir, { recursive: true });
    await mkdir(this.assetsDir, { recursive: true });
  }

  uploadPath(id: string): string {
    if (!isValidUploadId(id)) throw new Error(`invalid upload id ${JSON.stringify(id)}`);
    return path.join(this.uploadsDir, id);
  }

  /** Path of an asset relative to DATA_DIR, as stored in the assets row. */
  assetRelativePath(ownerId: string, assetId: string, filename: string): string {
    return path.join('assets', safeSegment(ownerId), assetId, safeFilename(filename));
  }

  resolve(relativePath: string): string {
    const full = path.resolve(this.dataDir, relativePath);
    if (!full.startsWith(path.resolve(this.dataDir) + path.sep)) {
      throw new Error(`path ${relativePath} is outside DATA_DIR`);
    }
    return full;
  }
}

/** fsync a directory so a rename or create inside it survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
