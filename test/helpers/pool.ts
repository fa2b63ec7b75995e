// Concurrency helpers for tests: a pool that runs tasks a given number at a time (reporting the
// peak), and a shuffled copy of a list.
import { randomBytes } from 'node:crypto';

/** Runs `task` over `items` with at most `limit` running at once; returns the peak concurrency. */
export async function runPool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  let running = 0;
  let peak = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const item = items[index];
      if (index >= items.length || item === undefined) return;
      running++;
      peak = Math.max(peak, running);
      try {
        await task(item);
      } finally {
        running--;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return peak;
}

/** A Fisher-Yates shuffle of a copy of `items`. */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE(0) % (i + 1);
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}
