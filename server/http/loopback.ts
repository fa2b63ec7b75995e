// What counts as loopback: for the listening address (HOST), a Host header's name, and a peer's
// socket address. Development conveniences (the generated secret, /dev/token, /metrics without a
// token) are only offered where nothing but this machine can reach them.
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
// BlockList also matches IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) against the IPv4 rule
LOOPBACK.addAddress('::1', 'ipv6');

/** An IP address (as a socket reports it) in 127.0.0.0/8 or ::1. */
export function isLoopbackAddress(address: string | undefined): boolean {
  const family = isIP(address ?? '');
  return family !== 0 && LOOPBACK.check(address ?? '', family === 6 ? 'ipv6' : 'ipv4');
}

/** A HOST setting or Host header name that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}

/** The host name of a Host header value (`name:port`, `[v6]:port`), or undefined when malformed. */
export function hostHeaderName(value: string | undefined): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(:\d{1,5})?$/i.exec(value?.trim() ?? '');
  return match?.[1];
}
