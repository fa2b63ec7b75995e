// `npm run cleanup`: one cleanup sweep with the server's configuration, then exit.
import { AssetRepository } from '../db/asset-repository.js';
import { openDatabase } from '../db/client.js';
import { SessionRepository } from '../db/session-repository.js';
import { ChunkStore } from '../store/chunk-store.js';
import { StorageLayout } from '../store/layout.js';
import { runCleanup } from './cleanup.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startOperations } from './operations.js';
import { databaseOptionsFor } from './start.js';

try {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel, { modules: config.logModules });
  const layout = new StorageLayout(config.dataDir);
  await layout.init();
  const database = await openDatabase(databaseOptionsFor(config));
  try {
    await database.migrate();
    const sessions = new SessionRepository(database.db);
    const assets = new AssetRepository(database.db);
    const store = new ChunkStore({
      layout,
      sessions,
      assets,
      defaultChunkSize: config.chunkSize,
      sessionTtlMs: config.sessionTtlMs,
    });
    // what the sweep expires reaches progress subscribers and the webhook outbox
    const operations = await startOperations({ config, database, store, log, serve: false });
    const report = await runCleanup({
      database,
      store,
      sessions,
      assets,
      layout,
      log,
      orphanGraceMs: config.orphanGraceMs,
      prune: () => operations.prune(),
    });
    await operations.close();
    process.stdout.write(`${JSON.stringify(report ?? { skipped: 'another instance is sweeping' })}\n`);
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
