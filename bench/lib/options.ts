// Command-line options of the benchmark runner: parsing, validation and the usage text.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, type Plan, QUICK, SERVERS, WORKLOADS, type Workload } from './plan.js';
import { ROOT, type ServerName } from './processes.js';

export function usage(): string {
  return `usage: npm run bench -- [options]
  --quick              ~1 minute smoke run: smaller sizes, 1 round, no results file
  --rounds N           rounds of A B C (default 3; quick 1)
  --servers LIST       comma list of ours,stock,limit (default all; with --storage s3 ours,stock)
  --workloads LIST     comma list of W1,W2,W3,W5,W6 (W4 runs alongside W3; default all)
  --dir PATH           work directory for inputs and server data (default $TMPDIR/tus-bench)
  --out FILE           results file (default bench/results.json for complete, unprofiled full runs)
  --cpu-prof DIR       run our server under node --cpu-prof, profiles and windows.json into DIR
  --storage KIND       files (default) or s3: ours with STORAGE=s3 against @tus/server + @tus/s3-store,
                       each on its own bucket of the gateway the S3_* variables name
  --keep               keep server data directories and logs
Environment: DATABASE_URL (PostgreSQL for our server; a fresh database is created per round);
  S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION (--storage s3)`;
}

export interface Options {
  plan: Plan;
  servers: ServerName[];
  workloads: Workload[];
  workDir: string;
  out: string | undefined;
  cpuProf: string | undefined;
  keep: boolean;
  storage: Storage;
}

export type Storage = 'files' | 's3';
/** The servers each storage can compare: there is no limit server for object storage. */
const STORAGE_SERVERS: Record<Storage, readonly ServerName[]> = { files: SERVERS, s3: ['ours', 'stock'] };

export function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      servers: { type: 'string' },
      workloads: { type: 'string' },
      dir: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean', default: false },
      storage: { type: 'string', default: 'files' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  const plan = { ...(values.quick ? QUICK : FULL) };
  if (values.rounds !== undefined) {
    const rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive whole number');
    plan.rounds = rounds;
  }
  const list = <T extends string>(text: string | undefined, all: readonly T[], what: string): T[] => {
    if (text === undefined) return [...all];
    const picked = text.split(',').map((s) => s.trim());
    for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} ${p}; use ${all.join(',')}`);
    return all.filter((a) => picked.includes(a));
  };
  const storage = values.storage;
  if (storage !== 'files' && storage !== 's3') throw new Error(`unknown storage ${storage}; use files or s3`);
  const allServers = STORAGE_SERVERS[storage];
  const servers = list(values.servers, allServers, storage === 's3' ? 'server for --storage s3' : 'server');
  const workloads = list(values.workloads, WORKLOADS, 'workload');
  // only a complete, unprofiled full run replaces bench/results.json unless --out says otherwise
  const complete =
    plan.mode === 'full' &&
    servers.length === allServers.length &&
    workloads.length === WORKLOADS.length &&
    !values['cpu-prof'];
  return {
    plan,
    servers,
    workloads,
    workDir: path.resolve(values.dir ?? path.join(os.tmpdir(), 'tus-bench')),
    out:
      values.out ??
      (complete ? path.join(ROOT, storage === 's3' ? 'bench/results-s3.json' : 'bench/results.json') : undefined),
    cpuProf: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    keep: values.keep,
    storage,
  };
}
