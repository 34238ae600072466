import { createSocket, type Socket } from 'node:dgram';
import { cpus } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { countUdpSockets, machineBusyPct, processCpu, readMachineTimes, readProcessTimes } from '../../../tools/call-load/index.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

async function bound(port: number): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve());
  });
  return socket;
}

describe('process stats from /proc', () => {
  it("counts a process's own UDP sockets in a port range, not other ports", async () => {
    // Below Linux's ephemeral ports, so nothing else holds them by chance.
    const range = { min: 30300, max: 30399 };
    const before = countUdpSockets(process.pid, range);
    expect(before).toBe(0);
    const a = await bound(30350);
    await bound(30450); // outside the range
    expect(countUdpSockets(process.pid, range)).toBe(1);
    a.close();
    sockets.splice(sockets.indexOf(a), 1);
    expect(countUdpSockets(process.pid, range)).toBe(0);
    expect(countUdpSockets(2 ** 22 + 12345, range)).toBeNull();
  });

  it('reads CPU time of a process and its main thread; a busy main thread shows up in both', () => {
    const start = readProcessTimes(process.pid);
    expect(start).not.toBeNull();
    const t0 = Date.now();
    const used0 = process.cpuUsage();
    let x = 0;
    // Spin until getrusage says this process had 150 ms of CPU, however long a busy machine
    // takes to give it: the figures are then CPU time, which the machine's load does not shrink.
    for (;;) {
      for (let i = 0; i < 100_000; i += 1) x += Math.sqrt(x + 1);
      const used = process.cpuUsage(used0);
      if (used.user + used.system >= 150_000) break;
    }
    expect(x).toBeGreaterThan(0);
    const end = readProcessTimes(process.pid);
    const wallMs = Date.now() - t0;
    const cpu = processCpu(start, end, wallMs);
    expect(cpu).not.toBeNull();
    const ms = (pct: number): number => (pct * wallMs) / 100;
    // Nearly all of it on the main thread, as /proc's schedstat counts it.
    expect(ms(cpu!.mainThreadCpuPct)).toBeGreaterThan(100);
    // Clock ticks (10 ms) against nanoseconds: the whole process is not below its main thread by more than a tick or two.
    expect(ms(cpu!.cpuPct)).toBeGreaterThan(ms(cpu!.mainThreadCpuPct) - 20);
    expect(cpu!.otherThreadsCpuPct).toBeGreaterThanOrEqual(0);
    expect(readProcessTimes(2 ** 22 + 12345)).toBeNull();
    expect(processCpu(null, end, 100)).toBeNull();
  });
});

describe('machine CPU from /proc/stat', () => {
  it('reads busy and total time; busy over a window is between 0 and every core', async () => {
    // The wall window starts before the first read and ends after the last, so it holds the /proc/stat window.
    const t0 = Date.now();
    const start = readMachineTimes();
    expect(start).not.toBeNull();
    expect(start!.totalNs).toBeGreaterThan(start!.busyNs);
    while (Date.now() - t0 < 100) Math.sqrt(t0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const end = readMachineTimes();
    const wallMs = Date.now() - t0;
    const busy = machineBusyPct(start, end, wallMs);
    expect(busy).not.toBeNull();
    expect(end!.busyNs - start!.busyNs).toBeLessThanOrEqual(end!.totalNs - start!.totalNs);
    // This thread alone kept one core busy for two thirds of the window (or others kept the machine busier).
    expect(busy!).toBeGreaterThan(30);
    // Counters move in 10 ms ticks per core: each end of the window may be off by one.
    const tickSlackPct = ((2 * 10 * cpus().length) / wallMs) * 100;
    expect(busy!).toBeLessThanOrEqual(cpus().length * 100 + tickSlackPct);
    expect(machineBusyPct(null, start, 100)).toBeNull();
  });
});
