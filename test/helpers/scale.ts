// How many rounds the long randomised tests run (crash rounds, fuzz requests). TEST_SCALE (a
// fraction, default 1) shrinks them for a run whose point is elsewhere: CI's second Node line,
// which checks that everything works there, not the statistics the first run already covered.
export function scaled(count: number): number {
  const scale = Number(process.env.TEST_SCALE ?? '1');
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1)
    throw new Error(`TEST_SCALE must be in (0, 1], not ${process.env.TEST_SCALE}`);
  return Math.max(1, Math.round(count * scale));
}
