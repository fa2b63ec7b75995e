// The benchmark report: per-metric summaries over rounds (with ours/stock and ours/limit ratios),
// the results table and the checks against the performance targets.
import { type MetricDef, type Plan, SERVERS, type Values } from './plan.js';
import type { ServerName } from './processes.js';
import { formatBytes, type Spread, spread } from './stats.js';

export interface Summary {
  metric: MetricDef;
  servers: Partial<Record<ServerName, Spread | null>>;
  ratios: { stock: Spread | null; limit: Spread | null };
}

export function summarise(defs: MetricDef[], values: Values, rounds: number): Summary[] {
  return defs.map((metric) => {
    const servers: Partial<Record<ServerName, Spread | null>> = {};
    for (const name of SERVERS) {
      if (values[name]) servers[name] = spread(values[name]?.[metric.key] ?? []);
    }
    const ratio = (other: ServerName): Spread | null => {
      if (!metric.ratio) return null;
      const per: (number | null)[] = [];
      for (let r = 0; r < rounds; r++) {
        const a = values.ours?.[metric.key]?.[r];
        const b = values[other]?.[metric.key]?.[r];
        per.push(typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
      }
      return spread(per);
    };
    return { metric, servers, ratios: { stock: ratio('stock'), limit: ratio('limit') } };
  });
}

export function formatSpread(s: Spread | null | undefined, digits: number): string {
  if (!s) return '-';
  const f = (v: number) => v.toFixed(digits);
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}..${f(s.max)})` : f(s.median);
}

export function table(summaries: Summary[], servers: ServerName[]): string {
  // a ratio column only for the references that ran (object storage has no limit server)
  const others = (['stock', 'limit'] as const).filter((name) => servers.includes('ours') && servers.includes(name));
  const header = ['metric', 'unit', 'better', ...servers, ...others.map((name) => `ours/${name}`)];
  const rows = summaries.map((s) => [
    s.metric.label,
    s.metric.unit,
    s.metric.better,
    ...servers.map((name) => formatSpread(s.servers[name], s.metric.digits)),
    ...others.map((name) => {
      const ratio = s.ratios[name];
      return ratio ? `${ratio.median.toFixed(2)}x` : '-';
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 3 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

export function checkTargets(summaries: Summary[], plan: Plan, database: string): TargetCheck[] {
  const get = (key: string) => summaries.find((s) => s.metric.key === key);
  const med = (key: string, server: ServerName = 'ours') => get(key)?.servers[server]?.median;
  const checks: TargetCheck[] = [];
  const ratioCheck = (key: string, other: 'stock' | 'limit', op: '>=' | '<=', bound: number, target: string) => {
    const r = get(key)?.ratios[other]?.median;
    if (r === undefined) return;
    checks.push({ target, measured: `${r.toFixed(2)}x`, met: op === '>=' ? r >= bound : r <= bound });
  };
  const absCheck = (key: string, bound: number, unit: string, target: string, applies = true) => {
    const v = med(key);
    if (v === undefined) return;
    checks.push({ target, measured: `${v.toFixed(1)} ${unit}`, met: applies ? v <= bound : null });
  };
  ratioCheck('w1', 'stock', '>=', 1.5, 'W1 >= 1.5x stock');
  ratioCheck('w1', 'limit', '>=', 0.8, 'W1 >= 0.8x limit');
  ratioCheck('w2', 'stock', '>=', 1.3, 'W2 >= 1.3x stock');
  ratioCheck('w3', 'stock', '>=', 1.2, 'W3 aggregate >= 1.2x stock');
  ratioCheck('w3.p99', 'stock', '<=', 1.0, 'W3 p99 per upload no worse than stock');
  absCheck('w4.head.p99', 10, 'ms', 'W4 HEAD p99 < 10 ms');
  absCheck('w4.post.p99', 25, 'ms', 'W4 POST p99 < 25 ms');
  const sizes = plan.w5.sizes;
  const largest = Math.max(...sizes);
  const w5 = get(`w5.server.${largest}`)?.servers.ours ? 'w5.server' : 'w5';
  absCheck(`${w5}.${largest}`, 50, 'ms', `W5 finalise ${formatBytes(largest)} <= 50 ms`);
  const small = med(`${w5}.${Math.min(...sizes)}`);
  const big = med(`${w5}.${largest}`);
  if (small !== undefined && big !== undefined) {
    checks.push({
      target: `W5 flat from ${formatBytes(Math.min(...sizes))} to ${formatBytes(largest)} (within 10 ms)`,
      measured: `${small.toFixed(1)} -> ${big.toFixed(1)} ms`,
      met: big - small <= 10,
    });
  }
  const postgresOnly = database === 'postgresql';
  const note = postgresOnly ? '' : ' (target is for PostgreSQL; this run used PGlite)';
  absCheck('rss.w1', 150, 'MB', `peak RSS in W1 <= 150 MB${note}`, postgresOnly);
  absCheck('rss.w3', 150, 'MB', `peak RSS in W3 <= 150 MB${note}`, postgresOnly);
  ratioCheck('w6', 'stock', '>=', 1.2, 'W6 aggregate >= 1.2x stock');
  absCheck('w6.head.p99', 50, 'ms', 'W6 HEAD p99 <= 50 ms');
  ratioCheck('cpu.w1', 'limit', '<=', 1.1, 'W1 CPU s/GiB <= 1.1x limit');
  return checks;
}
