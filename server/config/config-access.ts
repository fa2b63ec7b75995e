// Who can reach the server and with which tokens, decided once at start: the listening address,
// the key tokens are verified with, and the opt-in development token route. Without JWT settings
// the server signs with a secret it generated itself, so it must stay reachable from this machine
// only: loopback HOST by default, and a refusal to start on any other HOST or in production.
import { isLoopbackHost } from '../http/loopback.js';

export type AuthConfig =
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; publicKey: string }
  /** Neither was set: a secret is generated once under DATA_DIR. */
  | { kind: 'dev' };

/** The variables that decide access, as validated by config.ts. */
export interface AccessSettings {
  HOST?: string | undefined;
  JWT_SECRET?: string | undefined;
  JWT_PUBLIC_KEY?: string | undefined;
  DEV_TOKENS: boolean;
  NODE_ENV?: string | undefined;
}

export interface Access {
  host: string;
  auth: AuthConfig;
  /** GET /dev/token is served (DEV_TOKENS=1, development secret, loopback only). */
  devTokens: boolean;
}

const SET_JWT = 'set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256/ES256)';

/**
 * The access settings, or the problems that keep the server from starting. `listening` is false
 * for one-off tools (migrations, cleanup) that serve nothing: only the key rules apply to them.
 */
export function resolveAccess(s: AccessSettings, listening: boolean): Access | { problems: string[] } {
  if (s.JWT_SECRET && s.JWT_PUBLIC_KEY) return { problems: ['set JWT_SECRET or JWT_PUBLIC_KEY, not both'] };
  const auth: AuthConfig = s.JWT_SECRET
    ? { kind: 'secret', secret: s.JWT_SECRET }
    : s.JWT_PUBLIC_KEY
      ? { kind: 'public-key', publicKey: s.JWT_PUBLIC_KEY }
      : { kind: 'dev' };
  const dev = auth.kind === 'dev';
  const host = s.HOST ?? (dev ? '127.0.0.1' : '0.0.0.0');
  if (!listening) return { host, auth, devTokens: false };

  const problems: string[] = [];
  const production = s.NODE_ENV === 'production';
  if (s.DEV_TOKENS) {
    if (!dev) {
      problems.push(
        'DEV_TOKENS=1 hands out tokens signed with the generated development secret and cannot be combined with ' +
          'JWT_SECRET or JWT_PUBLIC_KEY: remove DEV_TOKENS (mint tokens with npm run token)',
      );
    }
    if (!isLoopbackHost(host)) {
      problems.push(`DEV_TOKENS=1 needs a loopback HOST (127.0.0.1, ::1 or localhost), not HOST=${host}`);
    }
    if (production) problems.push('DEV_TOKENS=1 is refused with NODE_ENV=production');
  }
  if (dev && !isLoopbackHost(host)) {
    problems.push(
      `HOST=${host} reaches beyond this machine but no JWT key is configured: ${SET_JWT}. ` +
        'Without one the server signs with a generated development secret and listens on loopback only',
    );
  }
  if (dev && production) {
    problems.push(`NODE_ENV=production but no JWT key is configured: ${SET_JWT}`);
  }
  return problems.length > 0 ? { problems } : { host, auth, devTokens: s.DEV_TOKENS };
}
