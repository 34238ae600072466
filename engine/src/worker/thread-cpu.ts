import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks (100 on every architecture Node supports). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) of the calling thread since it started, from /proc/thread-self/stat;
 * null where there is no such file (not Linux). Node 20 has no per-thread CPU API and
 * process.cpuUsage() in a worker is the whole process's, so this is how a worker reports its own
 * share (benchmarks compare engine CPU with and without the console). Read per stats request, never
 * on the tick: one small synchronous read of a kernel file.
 */
export function threadCpuMs(): number | null {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'latin1');
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}
