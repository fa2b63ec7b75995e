// The load report: per-request-type rows (p50, p99, max), the figures table, server errors and run
// errors as failures, and writing the figures into docs/reliability.md after a full run.
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MiB, quantile, type Sample } from './jobs.js';
import { type Plan, ROOT } from './plan.js';
import type { Server } from './processes.js';

export const REPORT = path.join(ROOT, 'docs/reliability.md');
export const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
export const mib = (bytes: number) => (bytes / MiB).toFixed(1);

export interface Row {
  scenario: string;
  type: string;
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function rowsOf(scenario: string, samples: readonly Sample[]): Row[] {
  const types = [...new Set(samples.map((s) => s.type))].sort();
  return types.map((type) => {
    const values = samples.filter((s) => s.type === type).map((s) => s.ms);
    return {
      scenario,
      type,
      n: values.length,
      p50: quantile(values, 0.5),
      p99: quantile(values, 0.99),
      max: Math.max(...values),
    };
  });
}

export interface Report {
  plan: Plan;
  database: string;
  when: string;
  machine: string;
  failures: string[];
  figures: [string, string][];
  rows: Row[];
}

export function table(report: Report): string {
  const lines = ['| figure | value |', '| --- | --- |', ...report.figures.map(([k, v]) => `| ${k} | ${v} |`)];
  lines.push('', '| scenario | request | n | p50 ms | p99 ms | max ms |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of report.rows)
    lines.push(`| ${r.scenario} | ${r.type} | ${r.n} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`);
  return lines.join('\n');
}
/** Every error the server logged is a failure of the run, shown with its message. */
export function reportErrors(server: Server, report: Report): void {
  for (const entry of server.errors().slice(0, 5)) {
    const err = entry.err as { message?: string; stack?: string } | undefined;
    report.failures.push(`server logged: ${String(entry.msg)}: ${err?.stack ?? err?.message ?? JSON.stringify(entry)}`);
  }
}
/** An error with its cause (drizzle puts the driver's message there), without the query text. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const head = error.message.length > 300 ? `${error.message.slice(0, 300)}...` : error.message;
  const stack = error.stack?.split('\n').slice(1, 6).join('\n') ?? '';
  return error.cause === undefined ? `${head}\n${stack}` : `${head}\n${stack}\n  cause: ${describeError(error.cause)}`;
}

/** Replaces the figures between the markers in docs/reliability.md. */
export async function writeReport(text: string): Promise<void> {
  const begin = '<!-- load figures: begin -->';
  const end = '<!-- load figures: end -->';
  const doc = await readFile(REPORT, 'utf8').catch(() => '');
  const at = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (at < 0 || to < at) {
    console.log(`${REPORT} has no figure markers; not written`);
    return;
  }
  await writeFile(REPORT, `${doc.slice(0, at + begin.length)}\n${text}\n${doc.slice(to)}`);
  // the tables as the formatter lays them out, so `npm run lint` stays clean
  spawnSync('npx', ['biome', 'format', '--write', REPORT], { cwd: ROOT, stdio: 'ignore' });
  console.log(`figures written to ${path.relative(ROOT, REPORT)}`);
}
