// Options every postgres.js client of ours shares.

/**
 * No column or parameter of ours is a PostgreSQL array, so a new connection skips the catalog query
 * postgres.js would run to learn array types: about 12 ms of the server's time on each connection,
 * paid again whenever a burst reopens the pool after an idle spell.
 */
export const POSTGRES_CONNECTION = { fetch_types: false, onnotice: () => {} } as const;
