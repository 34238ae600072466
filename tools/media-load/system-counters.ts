import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';

/**
 * Host-level facts for the report. UDP counters come from /proc/net/snmp and
 * are system-wide: they include the generator's sockets and anything else
 * running on the machine, which is why the report calls them out separately.
 */
export interface UdpCounters {
  inDatagrams: number;
  inErrors: number;
  rcvbufErrors: number;
  sndbufErrors: number;
}

/** Parses the two `Udp:` lines of /proc/net/snmp (names, then values). */
export function parseUdpCounters(snmp: string): UdpCounters | null {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/).slice(1);
  const values = lines[1]?.split(/\s+/).slice(1).map(Number);
  if (!names || !values || names.length !== values.length) return null;
  const get = (name: string): number => {
    const v = values[names.indexOf(name)];
    return v !== undefined && Number.isFinite(v) ? v : 0;
  };
  return {
    inDatagrams: get('InDatagrams'),
    inErrors: get('InErrors'),
    rcvbufErrors: get('RcvbufErrors'),
    sndbufErrors: get('SndbufErrors'),
  };
}

/** null where /proc is not there (not Linux). */
export function readUdpCounters(): UdpCounters | null {
  try {
    return parseUdpCounters(readFileSync('/proc/net/snmp', 'utf8'));
  } catch {
    return null;
  }
}

export interface MachineInfo {
  cpu_model: string;
  cores: number;
  node: string;
  platform: string;
  loadavg_1m_at_start: number;
}

export function machineInfo(): MachineInfo {
  return {
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavg_1m_at_start: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/**
 * Time this process's threads spent running and waiting on a run queue
 * (runnable but not running), summed over threads, from
 * /proc/self/task/<tid>/schedstat. Waiting time is how CPU starvation by
 * other processes shows: an engine that is late while its CPU use is low was
 * not given the CPU. null where /proc has no schedstat.
 */
export interface SchedTimes {
  runNs: number;
  waitNs: number;
}

export function readSchedTimes(): SchedTimes | null {
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return null;
  }
  let runNs = 0;
  let waitNs = 0;
  let read = 0;
  for (const tid of tasks) {
    try {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      if (run !== undefined && Number.isFinite(run)) runNs += run;
      if (wait !== undefined && Number.isFinite(wait)) waitNs += wait;
      read++;
    } catch {
      // The thread ended between readdir and read: its time is simply not counted.
    }
  }
  return read > 0 ? { runNs, waitNs } : null;
}

/** Run-queue wait over an interval, as % of one core (can exceed 100 with several threads). */
export function schedWaitPct(start: SchedTimes | null, end: SchedTimes | null, wallMs: number): number | null {
  if (!start || !end || !(wallMs > 0)) return null;
  return ((end.waitNs - start.waitNs) / 1e6 / wallMs) * 100;
}
