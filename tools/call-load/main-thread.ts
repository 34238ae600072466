import { readFileSync } from 'node:fs';

/** Run and run-queue wait time of this process's main thread, from /proc (null where there is none). */
export interface ThreadTimes {
  runNs: number;
  waitNs: number;
}

export function readMainThreadTimes(): ThreadTimes | null {
  try {
    // The main thread's task id is the process id.
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    if (run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait)) return null;
    return { runNs: run, waitNs: wait };
  } catch {
    return null;
  }
}

/**
 * Over `wallMs`: how much of it the main thread ran, and how much it was
 * runnable but waiting for a CPU that other processes held, in %. A thread that
 * runs ~100 % is saturated by its own work; one that waits a lot was starved.
 */
export function mainThreadUsage(start: ThreadTimes | null, end: ThreadTimes | null, wallMs: number): { cpuPct: number | null; waitPct: number | null } {
  if (!start || !end || !(wallMs > 0)) return { cpuPct: null, waitPct: null };
  const pct = (ns: number): number => Math.round((ns / 1e6 / wallMs) * 1000) / 10;
  return { cpuPct: pct(end.runNs - start.runNs), waitPct: pct(end.waitNs - start.waitNs) };
}
