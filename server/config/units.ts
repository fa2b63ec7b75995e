// Parsers for human-written sizes ("10MiB", "512k") and durations ("24h", "90s").
const SIZE_UNITS: Record<string, number> = {
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
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Bytes from "10MiB", "10 MB", "5242880"; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = SIZE_UNITS[match?.[2]?.toLowerCase() ?? 'x'];
  if (!match?.[1] || unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

/** Milliseconds from "24h", "30m", "1500ms", "3600" (seconds); undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match?.[1]) return undefined;
  const unit = DURATION_UNITS[match[2]?.toLowerCase() ?? 's'];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}
