// `npm run db:migrate`: applies db/migrations to DATABASE_URL, or to the embedded database.
// It touches no file under DATA_DIR, so it neither checks nor writes the data directory's binding
// (it is often run from a shell whose DATA_DIR is not the service's); the embedded database is
// locked like for any other process, so it refuses while a server has it open.
import { openDatabase } from '../../db/client.js';
import { StartRefusedError } from '../../db/start-refused.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { databaseOptionsFor } from '../storage.js';

try {
  const config = loadConfig(process.env, { listening: false });
  const database = await openDatabase(databaseOptionsFor(config));
  try {
    await database.migrate();
    console.log(`migrations applied (${database.kind})`);
  } finally {
    await database.close();
  }
} catch (error) {
  const clear = error instanceof ConfigError || error instanceof StartRefusedError;
  console.error(clear ? error.message : error);
  process.exit(clear ? 2 : 1);
}
