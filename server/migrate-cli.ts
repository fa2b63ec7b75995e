// `npm run db:migrate`: applies db/migrations to DATABASE_URL, or to the embedded database.
import { openDatabase } from '../db/client.js';
import { loadConfig } from './config.js';
import { databaseOptionsFor } from './storage.js';

const config = loadConfig(process.env, { listening: false });
const database = await openDatabase(databaseOptionsFor(config));
try {
  await database.migrate();
  console.log(`migrations applied (${database.kind})`);
} finally {
  await database.close();
}
