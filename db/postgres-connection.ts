// Options every postgres.js client of ours shares.

/**
 * No column or parameter of ours is a PostgreSQL array, so a new connection skips the catalog query
 * postgres.js would run to learn array types: about 12 ms of the server's time on each connection,
 * paid again whenever a burst reopens the pool after an idle spell.
 */
export const POSTGRES_CONNECTION = { fetch_types: false, onnotice: () => {} } as const;

/** Seconds a pooled connection may stay idle unless the URL says otherwise: a burst opens the whole pool. */
const IDLE_TIMEOUT_S = 30;

/**
 * How long an idle pooled connection stays open: the URL's own `?idle_timeout=` (seconds, as
 * postgres.js reads it from a URL, which an explicit option would otherwise override), else 30.
 * Validated with the configuration (config.ts), so a bad value never reaches here from there.
 */
export function idleTimeoutOf(url: string): number {
  const given = idleTimeoutParam(url);
  return typeof given === 'number' ? given : IDLE_TIMEOUT_S;
}

/** The URL's idle_timeout: a number of seconds, undefined when absent, or the text when it is not one. */
export function idleTimeoutParam(url: string): number | string | undefined {
  let value: string | null;
  try {
    value = new URL(url).searchParams.get('idle_timeout');
  } catch {
    return undefined;
  }
  if (value === null) return undefined;
  const seconds = Number(value);
  return value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0 ? seconds : value;
}
