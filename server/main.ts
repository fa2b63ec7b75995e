// Entry point of `npm start`: configuration from the environment, then the server until a signal.
import './ops/threadpool.js';
import { fileURLToPath } from 'node:url';
import { StartRefusedError } from '../db/start-refused.js';
import { ConfigError, loadConfig } from './config/config.js';
import { StartupError } from './ops/startup-failure.js';
import { startServer } from './start.js';

/** The command that mints a token with this server's dev secret, run from the project's directory. */
function tokenCommand(dataDir: string): string {
  // npm runs scripts in the project's directory, where DATA_DIR's default points
  const projectData = fileURLToPath(new URL('../data', import.meta.url));
  const quoted = /^[\w./-]+$/.test(dataDir) ? dataDir : `'${dataDir.replaceAll("'", `'\\''`)}'`;
  return `${dataDir === projectData ? '' : `DATA_DIR=${quoted} `}npm run token -- --sub alice`;
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, { terminal: process.stdout.isTTY === true });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const server = await startServer(config).catch((error: unknown) => {
    if (!(error instanceof StartupError)) throw error;
    // one line a person can act on; the stack only for whoever asked for details
    process.stderr.write(`upload-server: cannot start: ${error.message}\n`);
    if (config.logLevel === 'debug' || config.logLevel === 'trace') console.error(error.cause ?? error);
    process.exit(2);
  });
  server.log.info(
    {
      url: server.url,
      tus: `${server.url}${config.tusPath}`,
      database: server.database.kind,
      data_dir: config.dataDir,
    },
    'upload server listening',
  );
  if (config.auth.kind === 'dev') {
    server.log.warn(
      `no JWT_SECRET or JWT_PUBLIC_KEY set: using a development secret in ${config.dataDir}/jwt-secret, ` +
        `on loopback only (HOST=${config.host}). Mint a token with: ${tokenCommand(config.dataDir)}` +
        (config.devTokens ? `, or GET ${server.url}/dev/token?sub=alice (DEV_TOKENS=1)` : ''),
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  // a refused start (DATA_DIR bound to another database, the embedded database in use) is one line
  if (error instanceof StartRefusedError) {
    console.error(error.message);
    process.exit(error.exitCode);
  }
  console.error(error);
  process.exit(1);
});
