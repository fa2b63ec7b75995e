// Dev-mode signing secret and token minting. With neither JWT_SECRET nor JWT_PUBLIC_KEY set, a
// random secret is created once under DATA_DIR (mode 0600) so a fresh checkout works out of the box.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import type { AuthConfig } from '../config/config.js';
import type { VerifyKey } from './auth.js';

export const DEV_SECRET_FILE = 'jwt-secret';

export async function loadOrCreateDevSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, DEV_SECRET_FILE);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  try {
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // another process created it first: use theirs
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
    throw error;
  }
}

/** The key to verify tokens with, creating the dev secret if the configuration asks for it. */
export async function resolveVerifyKey(auth: AuthConfig, dataDir: string): Promise<VerifyKey> {
  if (auth.kind === 'dev') return { kind: 'secret', secret: await loadOrCreateDevSecret(dataDir) };
  return auth;
}

/** An HS256 token for `sub`, with the issuer and audience the server is configured to demand. */
export function mintToken(
  secret: string,
  sub: string,
  expiresInSeconds = 24 * 3600,
  claims: { issuer?: string | undefined; audience?: string | undefined } = {},
): string {
  return jwt.sign({ sub }, secret, {
    algorithm: 'HS256',
    expiresIn: expiresInSeconds,
    ...(claims.issuer ? { issuer: claims.issuer } : {}),
    ...(claims.audience ? { audience: claims.audience } : {}),
  });
}
