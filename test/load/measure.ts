// Measuring the server process from outside: RSS and open descriptors by kind from /proc, peaks
// sampled while a scenario runs, the V8 heap from /metrics, and polling until the figures settle.
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { MiB } from './jobs.js';
import { mib } from './report.js';

export interface ProcessFigures {
  rss: number;
  fds: number;
}

export async function measure(pid: number): Promise<ProcessFigures> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) * 1024;
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  return { rss, fds };
}

/** Open descriptors by kind: files, pipes, TCP sockets to PostgreSQL (port 5432) and other sockets. */
export async function descriptorKinds(pid: number): Promise<Record<string, number>> {
  const remotePorts = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const remote = cols[2]?.split(':')[1];
      const inode = cols[9];
      if (remote && inode) remotePorts.set(inode, Number.parseInt(remote, 16));
    }
  }
  const kinds: Record<string, number> = {};
  const dir = `/proc/${pid}/fd`;
  for (const fd of await readdir(dir)) {
    const target = await readlink(path.join(dir, fd)).catch(() => 'gone');
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    const kind = socket
      ? remotePorts.get(socket[1] ?? '') === 5432
        ? 'postgres'
        : 'other sockets'
      : target.startsWith('pipe:')
        ? 'pipes'
        : target.startsWith('anon_inode:')
          ? 'anon'
          : target.startsWith('/')
            ? 'files'
            : 'other';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

export const kindsText = (k: Record<string, number>) =>
  Object.entries(k)
    .sort()
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');

/** Peak RSS and descriptors, sampled every 100 ms until stopped. */
export function samplePeaks(pid: number): { stop(): Promise<ProcessFigures> } {
  const peak: ProcessFigures = { rss: 0, fds: 0 };
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = await measure(pid);
      peak.rss = Math.max(peak.rss, now.rss);
      peak.fds = Math.max(peak.fds, now.fds);
    } catch {
      // the process is gone: the caller notices
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void take(), 100);
  return {
    async stop() {
      clearInterval(timer);
      await take();
      return peak;
    },
  };
}

/** V8 heap used and total, and memory outside the heap (Buffers), from the server's own /metrics. */
export interface HeapFigures {
  /** Idle releases so far (the server's upload_idle_memory_releases_total). */
  releases: number;
  used: number;
  total: number;
  external: number;
}

export async function heapOf(url: string): Promise<HeapFigures> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    releases: value('upload_idle_memory_releases_total'),
    used: value('nodejs_heap_size_used_bytes'),
    total: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
  };
}

export const heapText = (h: HeapFigures) =>
  `heap ${mib(h.used)} used of ${mib(h.total)}, external ${mib(h.external)} MiB`;

/** Polls until the server has counted more idle memory releases than `before` (or `timeoutMs` passes). */
export async function releasedSince(url: string, before: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await heapOf(url)).releases <= before && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Polls until the process holds at most 4 connections to PostgreSQL (or `timeoutMs` passes). */
export async function drained(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (((await descriptorKinds(pid)).postgres ?? 0) > 4) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Polls until three samples 500 ms apart agree within a few descriptors and 2 MiB (or 20 s pass). */
export async function steady(pid: number): Promise<ProcessFigures> {
  const recent: ProcessFigures[] = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    recent.push(await measure(pid));
    if (recent.length > 3) recent.shift();
    const stable =
      recent.length === 3 &&
      Math.max(...recent.map((r) => r.fds)) - Math.min(...recent.map((r) => r.fds)) <= 2 &&
      Math.max(...recent.map((r) => r.rss)) - Math.min(...recent.map((r) => r.rss)) <= 2 * MiB;
    if (stable || Date.now() > deadline) return recent.at(-1) as ProcessFigures;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
