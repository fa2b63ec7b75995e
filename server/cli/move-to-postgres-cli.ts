// `npm run db:move-to-postgres`: moves the embedded database of DATA_DIR into the empty PostgreSQL
// database at DATABASE_URL (see move-to-postgres.ts), then says what to do next.
import { StartRefusedError } from '../../db/start-refused.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { describeMove, moveToPostgres } from './move-to-postgres.js';

try {
  const config = loadConfig(process.env);
  const report = await moveToPostgres(config);
  console.log(describeMove(config, report));
} catch (error) {
  const clear = error instanceof ConfigError || error instanceof StartRefusedError;
  // refusals all come before the copy; a failed copy is rolled back, but a failure after it is not
  console.error(clear ? `${error.message} (nothing was moved)` : error);
  process.exit(clear ? 2 : 1);
}
