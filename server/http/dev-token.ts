// GET /dev/token?sub=NAME: a short-lived token signed with the generated development secret, for
// the upload page and curl on the developer's own machine. It exists only with DEV_TOKENS=1 (which
// config.ts allows on a loopback HOST, outside production, without JWT settings), and it answers
// only a direct request from this machine: not through a proxy (Forwarded, X-Forwarded-*, X-Real-IP,
// Via), not from a web page of any site (Origin; the route sends no CORS headers either), and not to
// a Host name other than a loopback one (a DNS-rebinding page on its own name is same-origin to the
// browser and sends no Origin on a GET).
import type { IncomingHttpHeaders } from 'node:http';
import { Router } from 'express';
import { UploadError } from '../../store/errors.js';
import { hostHeaderName, isLoopbackAddress, isLoopbackHost } from './loopback.js';
import { loadOrCreateDevSecret, mintToken } from './tokens.js';

export const DEV_TOKEN_PATH = '/dev/token';
const DEV_TOKEN_TTL_SECONDS = 3600;

/** Why a request may not have a dev token, or undefined when it may. */
export function devTokenRefusal(headers: IncomingHttpHeaders, peer: string | undefined): string | undefined {
  if (!isLoopbackAddress(peer)) return 'dev tokens are handed out to loopback callers only';
  if (headers.origin !== undefined) {
    return 'dev tokens are not handed to web pages (the request carries Origin); paste a token instead';
  }
  const proxied = Object.keys(headers).filter(
    (name) => name === 'forwarded' || name.startsWith('x-forwarded-') || name === 'x-real-ip' || name === 'via',
  );
  if (proxied.length > 0) {
    return `dev tokens are not handed out through a proxy (the request carries ${proxied.join(', ')})`;
  }
  const host = hostHeaderName(headers.host);
  if (!host || !isLoopbackHost(host)) {
    return `dev tokens are handed out only to requests for localhost or a loopback address, not Host ${JSON.stringify(headers.host ?? '')}`;
  }
  return undefined;
}

export interface DevTokenSettings {
  dataDir: string;
  /** The claims the verifier demands, and the longest lifetime it accepts. */
  jwt: { issuer: string | undefined; audience: string | undefined; maxLifetimeSeconds: number };
}

export function devTokenRoute({ dataDir, jwt }: DevTokenSettings): Router {
  const router = Router();
  router.get(DEV_TOKEN_PATH, async (req, res) => {
    const refusal = devTokenRefusal(req.headers, req.socket.remoteAddress);
    if (refusal) throw new UploadError('forbidden', refusal);
    const sub = typeof req.query.sub === 'string' ? req.query.sub : 'dev';
    if (!/^[\w.@-]{1,64}$/.test(sub)) throw new UploadError('validation_error', 'sub: 1-64 of A-Z a-z 0-9 _ . @ -');
    const ttl = Math.min(DEV_TOKEN_TTL_SECONDS, jwt.maxLifetimeSeconds);
    const token = mintToken(await loadOrCreateDevSecret(dataDir), sub, ttl, jwt);
    res
      .set({ 'Cache-Control': 'no-store', 'Cross-Origin-Resource-Policy': 'same-origin' })
      .json({ token, sub, expires_in: ttl });
  });
  return router;
}
