// Bearer JWT authentication. The verifier pins the algorithm to the kind of key configured, so a
// token with `alg: none` or signed with the wrong kind of key is refused; `sub` is the owner. A
// token must expire (unless configured otherwise) and may not live longer than the configured
// maximum, so a leaked token is worth little for long.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import jwt, { type Algorithm } from 'jsonwebtoken';
import { UploadError } from '../../store/errors.js';

export interface Principal {
  /** The JWT `sub`: owner of everything this caller creates. */
  sub: string;
}

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by the auth middleware once the bearer token is verified. */
    principal?: Principal;
  }
}

export type VerifyKey = { kind: 'secret'; secret: string } | { kind: 'public-key'; publicKey: string };

export interface TokenVerifier {
  verify(token: string): Principal;
}

export interface VerifyOptions {
  issuer?: string | undefined;
  audience?: string | undefined;
  clockToleranceSeconds: number;
  /** Refuse tokens without `exp`. */
  requireExp: boolean;
  /** Refuse tokens whose exp - iat (or exp - now without iat) is longer than this. */
  maxLifetimeSeconds: number;
}

export function createVerifier(key: VerifyKey, options: VerifyOptions): TokenVerifier {
  // a key object built once: given a string, jsonwebtoken re-parses it on every request
  const secretOrKey: KeyObject =
    key.kind === 'secret' ? createSecretKey(Buffer.from(key.secret)) : createPublicKey(key.publicKey);
  const algorithms: Algorithm[] = key.kind === 'secret' ? ['HS256'] : [publicKeyAlgorithm(key.publicKey)];
  return {
    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, secretOrKey, {
          algorithms,
          clockTolerance: options.clockToleranceSeconds,
          ...(options.issuer ? { issuer: options.issuer } : {}),
          ...(options.audience ? { audience: options.audience } : {}),
        });
      } catch (error) {
        const reason =
          error instanceof jwt.TokenExpiredError
            ? 'the token has expired'
            : error instanceof jwt.NotBeforeError
              ? 'the token is not valid yet'
              : /audience|issuer/.test((error as Error).message)
                ? `the token's ${/audience/.test((error as Error).message) ? 'audience' : 'issuer'} is not accepted`
                : 'the token is not valid';
        throw unauthorized(reason);
      }
      if (typeof payload === 'string' || typeof payload.sub !== 'string' || payload.sub.length === 0) {
        throw unauthorized('the token has no subject (sub) claim');
      }
      // the owner is stored as text, which cannot hold U+0000
      if (payload.sub.includes('\0')) throw unauthorized('the token subject (sub) contains a NUL character');
      checkLifetime(payload, options);
      return { sub: payload.sub };
    },
  };
}

/** jsonwebtoken has checked that exp, when present, is a number in the future. */
function checkLifetime(payload: jwt.JwtPayload, options: VerifyOptions): void {
  if (payload.exp === undefined) {
    if (options.requireExp) throw unauthorized('the token has no expiry (exp) claim; tokens must expire');
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  // an iat in the future would shorten the apparent lifetime: count from now at the latest
  const from = typeof payload.iat === 'number' ? Math.min(payload.iat, now) : now;
  if (payload.exp - from > options.maxLifetimeSeconds + options.clockToleranceSeconds) {
    throw unauthorized(
      `the token lives ${payload.exp - from} s, longer than the ${options.maxLifetimeSeconds} s this server accepts (JWT_MAX_LIFETIME)`,
    );
  }
}

function publicKeyAlgorithm(pem: string): Algorithm {
  const type = createPublicKey(pem).asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ec') return 'ES256';
  throw new Error(`JWT_PUBLIC_KEY is a ${type} key; use an RSA (RS256) or EC P-256 (ES256) key`);
}

function unauthorized(reason: string): UploadError {
  return new UploadError('unauthorized', `authentication required: ${reason}`, {
    'WWW-Authenticate': 'Bearer',
  });
}

/** Verifies `Authorization: Bearer <jwt>`, sets req.principal and returns it; 401 otherwise. */
export function authenticate(verifier: TokenVerifier, req: IncomingMessage): Principal {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) throw unauthorized('send Authorization: Bearer <token>');
  req.principal = verifier.verify(match[1]);
  return req.principal;
}

/** Express middleware form of `authenticate`. */
export function requireAuth(verifier: TokenVerifier) {
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      authenticate(verifier, req);
      next();
    } catch (error) {
      next(error);
    }
  };
}

export function principalOf(req: IncomingMessage): Principal {
  if (!req.principal) throw new UploadError('unauthorized', 'authentication required');
  return req.principal;
}
