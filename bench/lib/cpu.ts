// CPU time of a server process, from /proc/<pid>/stat (user + system, its threads included). On a
// shared machine CPU seconds per GiB moved is far steadier than MiB/s: other work on the machine
// slows a server down, but barely changes how much CPU it spends per byte.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { GiB } from './stats.js';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds used so far by `pid`; null where /proc is not there. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after its last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 after the name
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

/** Starts counting a process's CPU; `perGiB(bytes)` gives the seconds spent per GiB of `bytes`. */
export function cpuMeter(pid: number): { perGiB(bytes: number): number | null } {
  const start = cpuSeconds(pid);
  return {
    perGiB(bytes: number) {
      const end = cpuSeconds(pid);
      if (start === null || end === null || bytes <= 0) return null;
      return (end - start) / (bytes / GiB);
    },
  };
}
