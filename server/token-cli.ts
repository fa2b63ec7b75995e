// `npm run token -- --sub alice [--ttl 24h]`: prints a bearer token signed with JWT_SECRET or, in
// development, with the secret generated under DATA_DIR.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { loadOrCreateDevSecret, mintToken } from './tokens.js';
import { parseDuration } from './units.js';

const { values } = parseArgs({
  options: { sub: { type: 'string' }, ttl: { type: 'string', default: '24h' } },
});

try {
  const config = loadConfig(process.env);
  if (!values.sub) throw new ConfigError(['--sub NAME is required (the owner the token stands for)']);
  const ttlMs = parseDuration(values.ttl ?? '24h');
  if (!ttlMs) throw new ConfigError([`--ttl ${values.ttl} is not a duration (e.g. 24h, 30m)`]);
  if (config.auth.kind === 'public-key') {
    throw new ConfigError(['JWT_PUBLIC_KEY is set: tokens are minted by whoever holds the private key']);
  }
  const secret = config.auth.kind === 'secret' ? config.auth.secret : await loadOrCreateDevSecret(config.dataDir);
  process.stdout.write(`${mintToken(secret, values.sub, Math.round(ttlMs / 1000), config.jwt)}\n`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
