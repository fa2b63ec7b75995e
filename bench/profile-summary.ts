// Summarises V8 .cpuprofile files (from `node --cpu-prof`) by where the time went: top functions
// by self time, self time per area (package, our directories, Node internals, GC, idle), and the
// inclusive time of our own functions. With a windows.json written by `npm run bench --
// --cpu-prof DIR`, only samples taken while a workload ran count (`--workload W1` picks one).
// In a directory only main-thread profiles count (the others are loader threads) unless
// --all-threads. Usage: tsx bench/profile-summary.ts <file.cpuprofile | dir> [--workload W1] [--top 25]
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './lib/processes.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Window {
  workload: string;
  startUs: number;
  endUs: number;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(`${ROOT}/`)) u = u.slice(ROOT.length + 1);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) u = u.slice(nm + 'node_modules/'.length);
  return u;
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (SPECIAL.has(name) || !frame.url) return name;
  return `${name}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function areaOf(frame: CallFrame): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  if (!frame.url) return '(native / V8 builtins)';
  if (frame.url.startsWith('node:')) return 'node internals';
  const u = frame.url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? 'node_modules');
  }
  if (u.startsWith(`${ROOT}/`)) return `${u.slice(ROOT.length + 1).split('/')[0]}/ (ours)`;
  return 'other';
}

function isOurs(frame: CallFrame): boolean {
  const u = frame.url.replace(/^file:\/\//, '');
  return u.startsWith(`${ROOT}/`) && !u.includes('/node_modules/') && !u.startsWith(`${ROOT}/bench/`);
}

/** The .cpuprofile files in a directory; only main threads (CPU.<date>.<time>.<pid>.0.<n>) unless `all`. */
async function profilesIn(target: string, all: boolean): Promise<string[]> {
  if (!(await stat(target)).isDirectory()) return [target];
  const names = (await readdir(target))
    .filter((n) => n.endsWith('.cpuprofile') && (all || /\.\d+\.0\.\d+\.cpuprofile$/.test(n)))
    .sort();
  return names.map((n) => path.join(target, n));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      workload: { type: 'string' },
      top: { type: 'string', default: '25' },
      windows: { type: 'string' },
      'all-threads': { type: 'boolean', default: false },
    },
  });
  const target = positionals[0];
  if (!target) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile | dir> [--workload W1]');
  const top = Number(values.top);
  const dir = (await stat(target)).isDirectory() ? target : path.dirname(target);
  let windows: Window[] | undefined;
  const windowsFile = values.windows ?? path.join(dir, 'windows.json');
  try {
    const all = JSON.parse(await readFile(windowsFile, 'utf8')) as (Window & { server: string })[];
    windows = all.filter((w) => w.server === 'ours' && (!values.workload || w.workload === values.workload));
  } catch {
    windows = undefined;
  }

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const files = await profilesIn(target, values['all-threads']);
  for (const file of files) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      const duration = profile.timeDeltas[i + 1] ?? 0;
      if (windows && !windows.some((w) => t >= w.startUs && t <= w.endUs)) continue;
      const node = byId.get(profile.samples[i] ?? -1);
      if (!node) continue;
      total += duration;
      const key = functionKey(node.callFrame);
      self.set(key, (self.get(key) ?? 0) + duration);
      const area = areaOf(node.callFrame);
      areas.set(area, (areas.get(area) ?? 0) + duration);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const frame = byId.get(id)?.callFrame;
        if (!frame || !isOurs(frame)) continue;
        const k = functionKey(frame);
        if (seen.has(k)) continue;
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + duration);
      }
    }
  }
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  const scope = windows
    ? `${windows.length} window(s) of ${values.workload ?? 'all workloads'}`
    : 'the whole profile (no windows.json)';
  console.log(
    `${files.length} profile(s), ${scope}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle\n`,
  );
  const print = (title: string, map: Map<string, number>, n: number) => {
    console.log(title);
    const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
    for (const [key, us] of rows) {
      const pctBusy = key === '(idle)' ? '' : `${((100 * us) / busy).toFixed(1).padStart(5)}% of busy`;
      console.log(
        `  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${pctBusy.padEnd(14)} ${key}`,
      );
    }
    console.log('');
  };
  print('Self time by area:', areas, 30);
  print(`Top ${top} functions by self time:`, self, top);
  print('Our functions by inclusive time (server/, store/, db/):', inclusive, 15);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
