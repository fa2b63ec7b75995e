// Start-up failures a person can act on (the database cannot be reached, the port is taken, the data
// directory is unusable), turned into one line that names the setting, its value with any password
// hidden, and the cause. main.ts prints that line and exits with 2; anything not recognised here is
// a bug and keeps its stack.
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.js';

export class StartupError extends Error {
  override readonly name = 'StartupError';

  constructor(
    /** The environment variable to look at. */
    readonly setting: string,
    /** Its value as shown (a password hidden). */
    readonly value: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}=${value}: ${reason}`, options);
  }
}

/** A connection URL with its password (in the user part or the query) replaced by ****. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    for (const key of ['password', 'sslpassword'])
      if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '****');
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//****@');
  }
}

type Coded = Error & { code?: unknown; hostname?: unknown; address?: unknown; port?: unknown };

/** The error itself and its causes, outermost first (drizzle wraps the driver's error). */
function chain(error: unknown): Coded[] {
  const errors: Coded[] = [];
  for (let e = error; e instanceof Error && errors.length < 5; e = e.cause) errors.push(e as Coded);
  return errors;
}

const DATA_DIR_CAUSES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a part of the path is a file, not a directory',
  ELOOP: 'too many symbolic links',
};

/** Checks DATA_DIR before anything is written: a directory (made if missing) this process can write in. */
export async function checkDataDir(dir: string): Promise<void> {
  const fail = (reason: string, cause?: unknown) => new StartupError('DATA_DIR', dir, reason, { cause });
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw fail(DATA_DIR_CAUSES[error.code ?? ''] ?? error.message, error);
  });
  if (info && !info.isDirectory()) throw fail('it is a file, not a directory');
  if (!info) {
    await mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw fail(`cannot create it: ${DATA_DIR_CAUSES[error.code ?? ''] ?? error.message}`, error);
    });
  }
  // the directories the server writes in, where an earlier run (as another user) made them
  for (const sub of ['', 'uploads', 'assets', 'pglite']) {
    const where = sub ? path.join(dir, sub) : dir;
    await access(where, constants.W_OK | constants.X_OK).catch((error: NodeJS.ErrnoException) => {
      if (sub && error.code === 'ENOENT') return;
      const who = process.getuid ? ` (uid ${process.getuid()})` : '';
      const cause =
        error.code === 'EACCES'
          ? `not writable by this user${who}`
          : (DATA_DIR_CAUSES[error.code ?? ''] ?? error.message);
      throw fail(sub ? `${sub}/ in it: ${cause}` : cause, error);
    });
  }
}

/** Why the database could not be opened, in words, or undefined when the error is not one of those. */
function databaseCause(error: unknown): string | undefined {
  for (const e of chain(error)) {
    const where = typeof e.address === 'string' ? ` ${e.address}:${String(e.port)}` : '';
    switch (e.code) {
      case 'ECONNREFUSED':
        return `connection refused: nothing listens on${where || ' that address'} (is PostgreSQL running?)`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `unknown host ${typeof e.hostname === 'string' ? e.hostname : ''}`.trimEnd();
      case 'CONNECT_TIMEOUT':
      case 'ETIMEDOUT':
        return 'no answer: the connection timed out (a firewall, or the wrong host?)';
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return `host unreachable${where}`;
      case 'ECONNRESET':
        return 'the server closed the connection (TLS required, or not PostgreSQL?)';
      case '3D000':
        return `${e.message} (create it first, e.g. createdb)`;
      case '28P01':
      case '28000':
        return e.message;
    }
    // PostgreSQL's own refusal (SQLSTATE classes 08: connection, 28: authorization, 42501: privilege)
    if (typeof e.code === 'string' && /^(08|28|42501|53|57P03)/.test(e.code)) return `PostgreSQL refused: ${e.message}`;
  }
  return undefined;
}

/** A failure to open or migrate the database, as a StartupError naming DATABASE_URL. */
export function databaseFailure(config: Config, error: unknown): StartupError | undefined {
  if (error instanceof StartupError) return error;
  if (!config.databaseUrl) return undefined;
  const cause = databaseCause(error);
  return cause ? new StartupError('DATABASE_URL', redactUrl(config.databaseUrl), cause, { cause: error }) : undefined;
}

/** A failure to listen, as a StartupError naming PORT or HOST. */
export function listenFailure(config: Config, error: unknown): StartupError | undefined {
  const code = (error as Coded).code;
  const at = `${config.host}:${config.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(
        'PORT',
        String(config.port),
        `${at} is already in use (another server running? choose another PORT)`,
        { cause: error },
      );
    case 'EACCES':
      return new StartupError(
        'PORT',
        String(config.port),
        `not allowed to listen on ${at} (ports below 1024 need privileges)`,
        {
          cause: error,
        },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError('HOST', config.host, 'no such address on this machine', { cause: error });
  }
  return undefined;
}
