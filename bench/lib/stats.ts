// Small statistics helpers shared by the benchmark client and runner: quantiles (linear
// interpolation between closest ranks), medians and ranges over possibly missing values.

/** The q-quantile (0..1) of `values`, or null when there are none. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const low = Math.floor(at);
  const high = Math.ceil(at);
  const a = sorted[low] ?? 0;
  const b = sorted[high] ?? a;
  return a + (b - a) * (at - low);
}

export function median(values: readonly number[]): number | null {
  return quantile(values, 0.5);
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, min and max of the values that are present; null when none is. */
export function spread(values: readonly (number | null | undefined)[]): Spread | null {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const mid = median(present);
  if (mid === null) return null;
  return { median: mid, min: Math.min(...present), max: Math.max(...present), n: present.length };
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** "1 GiB", "100 MiB", "512 KiB", "7 B". */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
