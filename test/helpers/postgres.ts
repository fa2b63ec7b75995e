// Databases of their own for tests that need an empty PostgreSQL (a move target, a second
// installation): created next to the test run's DATABASE_URL database, named after it, dropped after.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new, empty database on the server of DATABASE_URL; undefined when DATABASE_URL is unset. */
export async function scratchDatabase(tag: string): Promise<ScratchDatabase | undefined> {
  const base = process.env.DATABASE_URL;
  if (!base) return undefined;
  const url = new URL(base);
  const name = `${url.pathname.slice(1) || 'postgres'}_${tag}_${randomBytes(4).toString('hex')}`.slice(0, 63);
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const again = postgres(base, { max: 1, onnotice: () => {} });
      try {
        await again.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await again.end({ timeout: 5 });
      }
    },
  };
}
