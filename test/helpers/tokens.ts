// Test JWTs: one fixed HS256 secret shared by every in-process test server.
import jwt from 'jsonwebtoken';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export function tokenFor(sub: string, options: jwt.SignOptions = {}): string {
  return jwt.sign({ sub }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600, ...options });
}

export function authHeader(sub: string): Record<string, string> {
  return { Authorization: `Bearer ${tokenFor(sub)}` };
}

let owners = 0;

/** A fresh owner name, so per-owner limits and listings never see another test's uploads. */
export function uniqueOwner(prefix = 'user'): string {
  owners += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${owners}`;
}
