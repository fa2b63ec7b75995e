// Benchmark runner (`npm run bench`, `npm run bench -- --quick`). Starts our server (default
// configuration, auth on; PostgreSQL when DATABASE_URL is set, else PGlite), stock @tus/server +
// @tus/file-store and a minimal "limit" server, each in its own process on one disk, and runs each
// workload against each in turn for several rounds (A B C, B C A, C A B: each server in each place
// once every three rounds), with tus-js-client in separate client processes. Each server is warmed
// up after it starts, and the page cache before each measurement (lib/warm-up.ts says why). Prints
// medians, min-max and the ratios ours/stock and ours/limit, and writes bench/results.json after a
// complete full run. Options: see usage() in lib/options.ts and bench/README.md.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cpuMeter } from './lib/cpu.js';
import { emptyDir, freeBytes, gitCommit, inputFile, log, roundDatabase, sleep, syncDisk } from './lib/environment.js';
import { parseOptions } from './lib/options.js';
import { metricDefs, record, SERVERS, type Values, workloadBytes } from './lib/plan.js';
import { ROOT, type ServerProcess, startServer, stopAll, stopProcess } from './lib/processes.js';
import { checkTargets, formatSpread, summarise, table } from './lib/report.js';
import { type BenchS3, benchS3 } from './lib/s3.js';
import { GiB, MiB, spread } from './lib/stats.js';
import { warmPageCache, warmUp } from './lib/warm-up.js';
import { type Context, dataPaths, epochNow, runW1orW2, runW3, runW5, runW6Round } from './lib/workloads.js';

async function main(): Promise<void> {
  const options = parseOptions();
  const { plan } = options;
  const started = new Date();
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const database = databaseUrl ? 'postgresql' : 'pglite';
  await mkdir(options.workDir, { recursive: true });
  if (options.servers.includes('ours')) {
    // ours is measured as `npm start` runs it: the compiled bundle, built from this tree now
    const built = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/build.ts'), '--server'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (built.status !== 0) throw new Error('building the server failed');
  }

  const inputSize = Math.max(
    options.workloads.includes('W1') ? plan.w1 : 0,
    options.workloads.includes('W2') ? plan.w2.size : 0,
    options.workloads.includes('W3') ? plan.w3.count * plan.w3.size : 0,
    options.workloads.includes('W5') ? Math.max(...plan.w5.sizes) : 0,
    options.workloads.includes('W6') ? plan.w6.count * plan.w6.size : 0,
    MiB,
  );
  const perWorkload = Math.max(plan.w1, plan.w2.size, plan.w3.count * plan.w3.size, 2 * Math.max(...plan.w5.sizes));
  const free = await freeBytes(options.workDir);
  const needed = inputSize + perWorkload + 2 * GiB;
  log(`work dir ${options.workDir}: ${(free / GiB).toFixed(1)} GiB free, needs about ${(needed / GiB).toFixed(1)} GiB`);
  if (free < needed) throw new Error('not enough free disk space for the benchmark; use --dir elsewhere');
  const input = await inputFile(path.join(options.workDir, 'inputs'), inputSize);

  const secret = randomBytes(32).toString('hex');
  const ctx: Context = {
    plan,
    input,
    secret,
    clockOffsetMs: epochNow() - Number(process.hrtime.bigint()) / 1e6,
    windows: [],
    errors: [],
    loads: [],
  };
  const runDir = path.join(options.workDir, `run-${started.toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
  await mkdir(runDir, { recursive: true });
  if (options.cpuProf) await mkdir(options.cpuProf, { recursive: true });
  const values: Values = {};
  const s3: BenchS3 | undefined = options.storage === 's3' ? await benchS3(options.servers) : undefined;
  log(
    `${plan.mode} run: ${plan.rounds} round(s) of ${options.servers.join(' ')}; ours on ${database}` +
      `${s3 ? ', storage s3 (stock: @tus/s3-store)' : ''}; ` +
      `workloads ${options.workloads.join(' ')}${options.workloads.includes('W3') ? ' (+W4)' : ''}`,
  );

  let aborted = false;
  /** Drops the current round's database; also called on Ctrl-C. */
  let dropping: (() => Promise<void>) | undefined;
  const onSignal = () => {
    if (aborted) return;
    aborted = true;
    log('interrupted: stopping servers and clients');
    stopAll()
      .then(() => dropping?.())
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    for (let round = 0; round < plan.rounds; round++) {
      const db = options.servers.includes('ours') ? await roundDatabase(databaseUrl, round) : undefined;
      dropping = db?.drop;
      const running: ServerProcess[] = [];
      try {
        for (const name of options.servers) {
          const dataDir = path.join(runDir, `round-${round + 1}`, name);
          await mkdir(dataDir, { recursive: true });
          const env: Record<string, string> = {
            ...(name === 'ours' ? { JWT_SECRET: secret, ...(db?.url ? { DATABASE_URL: db.url } : {}) } : {}),
            ...s3?.env(name, round),
          };
          const nodeFlags =
            name === 'ours' && options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProf}`] : [];
          const logFile = path.join(runDir, `${name}-round-${round + 1}.log`);
          const storage = s3 ? ('s3' as const) : undefined;
          running.push(await startServer({ name, dataDir, log: logFile, env, nodeFlags, storage }));
        }
        for (const server of running) {
          const problems = await warmUp(server, ctx).catch((error: unknown) => [String(error)]);
          if (problems.length > 0) ctx.errors.push(`warm-up ${server.name} round ${round + 1}: ${problems[0]}`);
          if (!options.keep) for (const dir of dataPaths(server)) await emptyDir(dir);
        }
        // the order turns every round, so no server always runs right after a pause or a given neighbour
        const order = running.map((_, i) => running[(i + round) % running.length] as ServerProcess);
        for (const workload of options.workloads) {
          for (const server of order) {
            syncDisk();
            await warmPageCache(runDir, workloadBytes(plan, workload));
            await sleep(300);
            ctx.loads.push(os.loadavg()[0] ?? 0);
            let text: string;
            const cpu = cpuMeter(server.pid);
            try {
              if (workload === 'W1' || workload === 'W2') text = await runW1orW2(ctx, server, round, workload, values);
              else if (workload === 'W3') text = await runW3(ctx, server, round, values);
              else if (workload === 'W6') text = await runW6Round(ctx, server, round, values);
              else text = await runW5(ctx, server, round, values);
              const perGiB = cpu.perGiB(workloadBytes(plan, workload));
              record(values, server.name, `cpu.${workload.toLowerCase()}`, round, perGiB);
              text += `; CPU ${perGiB?.toFixed(2) ?? 'n/a'} s/GiB`;
            } catch (error) {
              text = `FAILED: ${error instanceof Error ? error.message : String(error)}`;
              ctx.errors.push(`${workload} ${server.name} round ${round + 1}: ${text}`);
            }
            log(`[round ${round + 1}/${plan.rounds}] ${workload} ${server.name.padEnd(5)} ${text}`);
            if (!options.keep) for (const dir of dataPaths(server)) await emptyDir(dir);
            await s3?.empty(server.name);
          }
        }
      } finally {
        for (const server of running) await stopProcess(server.child);
        dropping = undefined;
        await db?.drop();
        if (!options.keep) await rm(path.join(runDir, `round-${round + 1}`), { recursive: true, force: true });
      }
    }
  } finally {
    await stopAll();
    await s3?.close();
  }

  const defs = metricDefs(plan, options.workloads);
  const summaries = summarise(defs, values, plan.rounds);
  const targets = options.servers.length === SERVERS.length ? checkTargets(summaries, plan, database) : [];
  const finished = new Date();

  const machine = {
    date: started.toISOString(),
    cpus: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Number((os.totalmem() / GiB).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    disk_free_gib: Number((free / GiB).toFixed(1)),
    work_dir: options.workDir,
    commit: gitCommit(),
    /** 1-minute load average before each measurement: other work on the machine skews results. */
    load_1min: spread(ctx.loads),
  };
  console.log(
    `\n${plan.mode} run, ${plan.rounds} round(s), ours on ${database}; median (min..max) over rounds; ` +
      'ratios are medians of per-round ratios',
  );
  console.log(
    `${machine.cpus} cpus (${machine.cpu_model}), ${machine.memory_gib} GiB, node ${machine.node}, ` +
      `${machine.platform}, ${machine.date}; 1-min load average before measurements ` +
      `${formatSpread(machine.load_1min, 1)}\n`,
  );
  if ((machine.load_1min?.max ?? 0) > machine.cpus) {
    console.log('Note: the machine was busy with other work during this run; expect noise.\n');
  }
  console.log(table(summaries, options.servers));
  if (targets.length > 0) {
    console.log('\nTargets (issues 6 and 19):');
    for (const t of targets) {
      console.log(`  [${t.met === null ? 'n/a ' : t.met ? 'met ' : 'MISS'}] ${t.target}: ${t.measured}`);
    }
  }
  if (ctx.errors.length > 0) {
    console.log('\nErrors:');
    for (const e of ctx.errors) console.log(`  ${e}`);
  }

  if (options.cpuProf) {
    await writeFile(path.join(options.cpuProf, 'windows.json'), `${JSON.stringify(ctx.windows, null, 2)}\n`);
    log(`cpu profiles and windows.json in ${options.cpuProf}`);
  }
  if (options.out) {
    const results = {
      command: [
        databaseUrl ? 'DATABASE_URL=... ' : '',
        'npm run bench',
        process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : '',
      ].join(''),
      mode: plan.mode,
      started: started.toISOString(),
      finished: finished.toISOString(),
      database,
      storage: options.storage,
      machine,
      plan,
      servers: options.servers,
      workloads: options.workloads,
      summary: summaries.map((s) => ({
        key: s.metric.key,
        label: s.metric.label,
        unit: s.metric.unit,
        better: s.metric.better,
        ...s.servers,
        ratio_ours_stock: s.ratios.stock,
        ratio_ours_limit: s.ratios.limit,
      })),
      per_round: values,
      targets,
      errors: ctx.errors,
    };
    await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${path.relative(process.cwd(), options.out) || options.out}`);
  }
  if (options.keep) log(`server data and logs kept in ${runDir}`);
  else if (ctx.errors.length > 0) log(`server logs kept in ${runDir}`);
  else await rm(runDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    process.exit(1);
  },
);
