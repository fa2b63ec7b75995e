// The plan of a load run (full, or the short form CI runs): rounds, users, sizes and counts per
// scenario; also the repository root and the tokens the scenarios sign.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import { MiB } from './jobs.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Plan {
  name: 'full' | 'short';
  /** Rounds of scenario a: after each, RSS and descriptors must come back to the idle baseline. */
  rounds: number;
  users: number;
  uploadsPerUser: number;
  uploadSize: number;
  clientChunk: number;
  sessions: number;
  probeRequests: number;
  stale: number;
  staleFileSize: number;
}

export const FULL: Plan = {
  name: 'full',
  rounds: 3,
  users: 10,
  uploadsPerUser: 10,
  uploadSize: 32 * MiB,
  clientChunk: 8 * MiB,
  sessions: 1000,
  probeRequests: 1500,
  stale: 10_000,
  staleFileSize: 16 * 1024,
};

export const SHORT: Plan = {
  ...FULL,
  name: 'short',
  // one round: the RSS and descriptors must come back after it (there is no round-to-round rule)
  rounds: 1,
  uploadSize: 8 * MiB,
  clientChunk: 4 * MiB,
  probeRequests: 900,
  stale: 2000,
};
export function tokenFor(secret: string, sub: string): string {
  return jwt.sign({ sub }, secret, { algorithm: 'HS256', expiresIn: '6h' });
}
