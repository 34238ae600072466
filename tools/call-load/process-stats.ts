import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * Another process's CPU and UDP sockets, read from /proc: how the driver sees
 * Tandem when Tandem runs as its own process. Null wherever /proc does not answer
 * (not Linux, or the process is gone).
 */
export interface ProcessTimes {
  /** User + system time of every thread the process ever had (ns; clock-tick resolution). */
  cpuNs: number;
  /** The main thread's run time and run-queue wait (ns, from schedstat). */
  mainRunNs: number;
  mainWaitNs: number;
}

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux ABI Node runs on. */
const USER_HZ = 100;

export function readProcessTimes(pid: number): ProcessTimes | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime) are the 12th and 13th after the name.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    if (!Number.isFinite(utime) || !Number.isFinite(stime) || run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait)) return null;
    return { cpuNs: ((utime + stime) * 1e9) / USER_HZ, mainRunNs: run, mainWaitNs: wait };
  } catch {
    return null;
  }
}

export interface ProcessCpu {
  /** The whole process, in % of one core. */
  cpuPct: number;
  /** Its main thread, in % of the wall time. */
  mainThreadCpuPct: number;
  /** Its main thread was runnable but waiting for a CPU this % of the wall time. */
  mainThreadWaitPct: number;
  /** Every other thread (engine workers, GC, libuv), in % of one core. */
  otherThreadsCpuPct: number;
}

export function processCpu(start: ProcessTimes | null, end: ProcessTimes | null, wallMs: number): ProcessCpu | null {
  if (!start || !end || !(wallMs > 0)) return null;
  const pct = (ns: number): number => Math.round((ns / 1e6 / wallMs) * 1000) / 10;
  const cpu = end.cpuNs - start.cpuNs;
  const main = end.mainRunNs - start.mainRunNs;
  return { cpuPct: pct(cpu), mainThreadCpuPct: pct(main), mainThreadWaitPct: pct(end.mainWaitNs - start.mainWaitNs), otherThreadsCpuPct: pct(Math.max(0, cpu - main)) };
}

/**
 * UDP sockets process `pid` holds with a local port in `ports`: its socket
 * inodes (from /proc/<pid>/fd) matched against the namespace's UDP table, so
 * other processes' sockets on the same ports never count. Null if unreadable.
 */
export function countUdpSockets(pid: number, ports: { min: number; max: number }): number | null {
  return countSockets(pid, ['udp', 'udp6'], (local) => local >= ports.min && local <= ports.max);
}

/**
 * TCP connections process `pid` holds to remote port `port` (e.g. its ARI client's keep-alive
 * connections to Asterisk's HTTP server), by the same inode match. Null if unreadable.
 */
export function countTcpConnectionsTo(pid: number, port: number): number | null {
  return countSockets(pid, ['tcp', 'tcp6'], (_local, remote) => remote === port);
}

function countSockets(pid: number, tables: readonly string[], match: (localPort: number, remotePort: number) => boolean): number | null {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return null;
  }
  const inodes = new Set<string>();
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1]) inodes.add(m[1]);
  }
  const portOf = (address: string): number => Number.parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
  let count = 0;
  for (const table of tables) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const local = cols[1];
      const remote = cols[2];
      const inode = cols[9];
      if (local === undefined || remote === undefined || inode === undefined || !inodes.has(inode)) continue;
      if (match(portOf(local), portOf(remote))) count++;
    }
  }
  return count;
}

/** Busy and total time of the whole machine (all CPUs), from the first line of /proc/stat (ns; tick resolution). */
export interface MachineTimes {
  busyNs: number;
  totalNs: number;
}

export function readMachineTimes(): MachineTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (ticks.length < 8 || ticks.some((t) => !Number.isFinite(t))) return null;
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busyNs: ((total - idle) * 1e9) / USER_HZ, totalNs: (total * 1e9) / USER_HZ };
  } catch {
    return null;
  }
}

/** The machine's busy time over a window, in % of one core (200 = two cores flat out). */
export function machineBusyPct(start: MachineTimes | null, end: MachineTimes | null, wallMs: number): number | null {
  if (!start || !end || !(wallMs > 0)) return null;
  return Math.round(((end.busyNs - start.busyNs) / 1e6 / wallMs) * 1000) / 10;
}
