// The URLs the server hands out (tus Location and Upload-Concat, the draft's 104 Location, REST
// upload_url), by one rule: PUBLIC_URL when set; otherwise from the request, where the scheme and
// host a proxy forwards (Forwarded, X-Forwarded-Proto/-Host) count only when TRUST_PROXY names the
// peer the request came from; RELATIVE_URLS keeps the path alone. Absolute by default, because
// tools that take the URL as it comes (shell scripts, Hurl, several mobile clients) cannot resolve
// a relative one.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import parseForwarded from 'forwarded-parse';
import proxyAddr from 'proxy-addr';

export interface UrlSettings {
  /** Origin and optional path prefix the server is reached at, without a trailing slash. */
  publicUrl: string | undefined;
  /** Which peers' forwarded scheme and host are believed: none, all, or a proxy-addr list. */
  trustProxy: boolean | string[];
  /** Hand out paths only (the path of PUBLIC_URL, if any, in front). */
  relativeUrls: boolean;
}

export interface PublicUrls {
  /** The URL of `path` (absolute on this server, e.g. /files/abc) for the client that sent `req`. */
  of(req: IncomingMessage, path: string): string;
}

// a host name, an IPv4 address or a bracketed IPv6 address, with an optional port
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export function publicUrls(settings: UrlSettings): PublicUrls {
  const trusted = trustFunction(settings.trustProxy);
  const prefix = settings.publicUrl === undefined ? '' : new URL(settings.publicUrl).pathname.replace(/\/$/, '');
  return {
    of(req, path) {
      if (settings.relativeUrls) return `${prefix}${path}`;
      if (settings.publicUrl !== undefined) return `${settings.publicUrl}${path}`;
      const origin = requestOrigin(req, trusted(req.socket.remoteAddress ?? '', 0));
      // no usable Host: a path is still a valid Location
      return origin === undefined ? path : `${origin}${path}`;
    },
  };
}

/** The scheme and host the client used, as far as the request (and a trusted proxy) tells. */
function requestOrigin(req: IncomingMessage, fromTrustedProxy: boolean): string | undefined {
  const own = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  let proto: string | undefined;
  let host: string | undefined;
  if (fromTrustedProxy) {
    const forwarded = firstForwarded(req.headers.forwarded);
    proto = forwarded?.proto ?? firstValue(req.headers['x-forwarded-proto']);
    host = forwarded?.host ?? firstValue(req.headers['x-forwarded-host']);
  }
  const scheme = proto?.toLowerCase();
  const chosenHost = host !== undefined && HOST.test(host) ? host : req.headers.host;
  if (chosenHost === undefined || !HOST.test(chosenHost)) return undefined;
  return `${scheme === 'http' || scheme === 'https' ? scheme : own}://${chosenHost}`;
}

/** The first element of a Forwarded header (RFC 7239), the one the client-facing proxy wrote. */
function firstForwarded(header: string | undefined): Record<string, string> | undefined {
  if (header === undefined) return undefined;
  try {
    return parseForwarded(header)[0];
  } catch {
    // a malformed header tells nothing
    return undefined;
  }
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim() || undefined;
}

function trustFunction(trust: boolean | string[]): (address: string, hop: number) => boolean {
  if (trust === true) return () => true;
  if (trust === false || trust.length === 0) return () => false;
  return proxyAddr.compile(trust);
}

/** Checks a TRUST_PROXY list the way it will be used; throws a TypeError naming a bad entry. */
export function compileTrustList(list: string[]): void {
  proxyAddr.compile(list);
}
