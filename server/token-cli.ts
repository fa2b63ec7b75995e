// `npm run token -- --sub alice [--ttl 24h]`: prints a bearer token signed with JWT_SECRET or, in
// development, with the secret generated under DATA_DIR. The lifetime may not exceed
// JWT_MAX_LIFETIME, which the server enforces.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { loadOrCreateDevSecret, mintToken } from './tokens.js';
import { parseDuration } from './units.js';

const { values } = parseArgs({
  options: { sub: { type: 'string' }, ttl: { type: 'string', default: '24h' } },
});

try {
  // it listens on nothing: the rules on HOST and NODE_ENV are the server's
  const config = loadConfig(process.env, { listening: false });
  if (!values.sub) throw new ConfigError(['--sub NAME is required (the owner the token stands for)']);
  const ttlMs = parseDuration(values.ttl ?? '24h');
  if (!ttlMs) throw new ConfigError([`--ttl ${values.ttl} is not a duration (e.g. 24h, 30m)`]);
  const ttlSeconds = Math.round(ttlMs / 1000);
  if (ttlSeconds > config.jwt.maxLifetimeSeconds) {
    throw new ConfigError([
      `--ttl ${values.ttl} is longer than JWT_MAX_LIFETIME (${config.jwt.maxLifetimeSeconds} s): the server would refuse the token`,
    ]);
  }
  if (config.auth.kind === 'public-key') {
    throw new ConfigError(['JWT_PUBLIC_KEY is set: tokens are minted by whoever holds the private key']);
  }
  const secret = config.auth.kind === 'secret' ? config.auth.secret : await loadOrCreateDevSecret(config.dataDir);
  process.stdout.write(`${mintToken(secret, values.sub, ttlSeconds, config.jwt)}\n`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
