// Scenario b: many sessions of one user; listing, status and HEAD timed one at a time and eight at
// a time (p99 below 50 ms one at a time).
import { randomBytes } from 'node:crypto';
import { type CreateResult, MiB, type ProbeResult } from './jobs.js';
import { type Plan, tokenFor } from './plan.js';
import { runWorkers, type Server } from './processes.js';
import { ms, type Report, rowsOf } from './report.js';

export async function scenarioManySessions(plan: Plan, server: Server, secret: string, report: Report) {
  const owner = `load-many-${randomBytes(3).toString('hex')}`;
  const token = tokenFor(secret, owner);
  const base = { baseUrl: server.url, tusUrl: server.tusUrl, token };
  const [created] = await runWorkers<CreateResult>([
    { kind: 'create', ...base, count: plan.sessions, length: MiB, concurrency: 8 },
  ]);
  const ids = created?.ids ?? [];
  const lists = [
    'limit=50',
    'limit=50&offset=500',
    `limit=50&offset=${plan.sessions - 50}`,
    'limit=200&offset=200',
    'status=initiated&limit=50&offset=100',
  ];
  const probes: ProbeResult[] = [];
  for (const [label, concurrency] of [
    ['c=1', 1],
    ['c=8', 8],
  ] as const) {
    const [probe] = await runWorkers<ProbeResult>([
      { kind: 'probe', ...base, ids, lists, requests: plan.probeRequests, concurrency, label },
    ]);
    if (probe) probes.push(probe);
  }
  const samples = [...(created?.samples ?? []), ...probes.flatMap((p) => p.samples)];
  const errors = samples.filter((s) => s.status >= 400).length;
  if (ids.length !== plan.sessions) report.failures.push(`created ${ids.length} of ${plan.sessions} sessions`);
  if (errors > 0) report.failures.push(`${errors} error responses while probing the sessions`);
  const rows = rowsOf('b', samples);
  for (const r of rows) {
    if ((r.type.startsWith('GET list c=1') || r.type.startsWith('GET status c=1')) && !(r.p99 < 50)) {
      report.failures.push(`${r.type}: p99 ${ms(r.p99)} ms is not below 50 ms`);
    }
  }
  report.figures.push([
    `b) sessions of one user`,
    `${ids.length} (MAX_ACTIVE_SESSIONS raised to ${plan.sessions * 2})`,
  ]);
  report.rows.push(...rows);
}
