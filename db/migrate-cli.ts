// `npm run db:migrate`: applies db/migrations to DATABASE_URL, or to the embedded database.

import { loadConfig } from '../server/config.js';
import { databaseOptionsFor } from '../server/start.js';
import { openDatabase } from './client.js';

const config = loadConfig(process.env);
const database = await openDatabase(databaseOptionsFor(config));
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
