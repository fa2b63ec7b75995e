// Sizes and durations in and out of the CLI: "5MiB" or "512KiB" or "1048576" read as bytes, "30m"
// or "24h" or "3600" as seconds, bytes and seconds printed for people.
import { UploadClientError } from '../errors.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

export function parseSize(text: string, name: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match?.[2]?.toLowerCase() ?? '';
  const factor = UNITS[unit];
  const bytes = match?.[1] && factor ? Math.round(Number(match[1]) * factor) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UploadClientError('usage', `${name} ${JSON.stringify(text)} is not a size (e.g. 5MiB, 512KiB, 1048576)`);
  }
  return bytes;
}

const SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds from "30m", "24h", "7d", "90s" or "3600", as `npm run token --ttl` reads them. */
export function parseDuration(text: string, name: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(text);
  const seconds = match?.[1] ? Math.round(Number(match[1]) * (SECONDS[match[2]?.toLowerCase() || 's'] ?? 1)) : 0;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new UploadClientError('usage', `${name} ${JSON.stringify(text)} is not a duration (e.g. 30m, 24h, 7d, 3600)`);
  }
  return seconds;
}

export function parseCount(text: string, name: string, min = 1): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UploadClientError(
      'usage',
      `${name} must be a whole number of at least ${min}, not ${JSON.stringify(text)}`,
    );
  }
  return value;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
