// `upload-cli token --sub NAME`: an HS256 token signed with JWT_SECRET or, in development, with the
// secret the server keeps in DATA_DIR/jwt-secret. Signed here with node:crypto: the CLI needs no
// part of the server.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UploadClientError } from '../errors.js';

export interface DevTokenOptions {
  sub: string;
  ttlSeconds: number;
  /** Where the server keeps its dev secret (default $DATA_DIR or ./data). */
  dataDir?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const head = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

async function signingSecret(options: DevTokenOptions): Promise<string> {
  const env = options.env ?? process.env;
  if (env.JWT_SECRET) return env.JWT_SECRET;
  if (env.JWT_PUBLIC_KEY) {
    throw new UploadClientError('usage', 'JWT_PUBLIC_KEY is set: tokens are minted by whoever holds the private key');
  }
  const file = path.join(options.dataDir ?? env.DATA_DIR ?? './data', 'jwt-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UploadClientError(
      'usage',
      code === 'ENOENT'
        ? `no dev secret at ${file}: start the server once without JWT_SECRET (it creates it), or set JWT_SECRET or DATA_DIR`
        : `cannot read ${file}: ${code}`,
    );
  }
}

export async function mintDevToken(options: DevTokenOptions): Promise<{ token: string; expiresAt: Date }> {
  if (!/^[\w.@-]{1,64}$/.test(options.sub)) {
    throw new UploadClientError('usage', '--sub must be 1-64 characters of A-Z a-z 0-9 _ . @ -');
  }
  const secret = await signingSecret(options);
  const now = Math.floor(Date.now() / 1000);
  const exp = now + options.ttlSeconds;
  return { token: signHs256({ sub: options.sub, iat: now, exp }, secret), expiresAt: new Date(exp * 1000) };
}
