// `npm run cleanup`: one cleanup sweep with the server's configuration, then exit.
import { StartRefusedError } from '../../db/start-refused.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { startOperations } from '../events/operations.js';
import { runCleanup } from '../ops/cleanup.js';
import { createLogger } from '../ops/logger.js';
import { openStorage } from '../storage.js';

try {
  const config = loadConfig(process.env, { listening: false });
  const log = createLogger(config.logLevel, { modules: config.logModules });
  const { layout, database, sessions, assets, locker, service } = await openStorage(config);
  try {
    // what the sweep expires reaches progress subscribers and the webhook outbox
    const operations = await startOperations({ config, database, service, log, serve: false });
    const report = await runCleanup({
      database,
      service,
      sessions,
      assets,
      layout,
      log,
      orphanGraceMs: config.orphanGraceMs,
      quarantineRetentionMs: config.quarantineRetentionMs,
      prune: () => operations.prune(),
    });
    await operations.close();
    await service.hashes.close();
    await locker.close();
    process.stdout.write(`${JSON.stringify(report ?? { skipped: 'another instance is sweeping' })}\n`);
  } finally {
    await database.close();
  }
} catch (error) {
  // a refused start (DATA_DIR bound to another database, the embedded database in use) is one line
  const clear = error instanceof ConfigError || error instanceof StartRefusedError;
  console.error(clear ? error.message : error);
  process.exit(clear ? 2 : 1);
}
