// `npm run token -- --sub alice [--ttl 24h]`: prints a bearer token signed with JWT_SECRET or, in
// development, with the secret generated under DATA_DIR. The lifetime may not exceed
// JWT_MAX_LIFETIME, which the server enforces. Every refusal is one line and exit code 2.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { parseDuration } from '../config/units.js';
import { loadOrCreateDevSecret, mintToken } from '../http/tokens.js';

const USAGE = 'npm run token -- --sub NAME [--ttl 24h]';

class UsageError extends Error {}

function readArguments(): { sub: string; ttlMs: number } {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (usage: ${USAGE})`);
  }
  const { values, positionals } = parsed;
  // `npm run token --sub alice` (no --) hands --sub to npm and only `alice` to us
  if (positionals.length > 0) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(positionals[0])}: options go after --, as in npm run token -- --sub ${positionals[0]}`,
    );
  }
  if (!values.sub) throw new UsageError(`--sub is required (the owner the token stands for): ${USAGE}`);
  const ttlMs = parseDuration(values.ttl);
  if (!ttlMs) throw new UsageError(`--ttl ${values.ttl} is not a duration (e.g. 24h, 30m, 3600)`);
  return { sub: values.sub, ttlMs };
}

const OPTIONS = { sub: { type: 'string' }, ttl: { type: 'string', default: '24h' } } as const;

try {
  const { sub, ttlMs } = readArguments();
  // it listens on nothing: the rules on HOST and NODE_ENV are the server's
  const config = loadConfig(process.env, { listening: false });
  const ttlSeconds = Math.round(ttlMs / 1000);
  if (ttlSeconds > config.jwt.maxLifetimeSeconds) {
    throw new UsageError(
      `--ttl ${ttlSeconds} s is longer than JWT_MAX_LIFETIME (${config.jwt.maxLifetimeSeconds} s): the server would refuse the token`,
    );
  }
  if (config.auth.kind === 'public-key') {
    throw new UsageError('JWT_PUBLIC_KEY is set: tokens are minted by whoever holds the private key');
  }
  const secret = config.auth.kind === 'secret' ? config.auth.secret : await loadOrCreateDevSecret(config.dataDir);
  process.stdout.write(`${mintToken(secret, sub, ttlSeconds, config.jwt)}
`);
} catch (error) {
  if (!(error instanceof UsageError || error instanceof ConfigError)) throw error;
  process.stderr.write(`npm run token: ${error.message}\n`);
  process.exit(2);
}
