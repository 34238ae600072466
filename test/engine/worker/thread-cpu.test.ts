import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { threadCpuMs } from '../../../engine/src/worker/thread-cpu.js';

/** A worker's CPU as the engine reports it (ShardStats.cpuMs): its own thread's time, not the process's. */
describe('threadCpuMs', () => {
  it("grows with this thread's work and does not include it in another thread's", async () => {
    const start = threadCpuMs();
    expect(start).not.toBeNull();
    // Work until this thread has used 800 ms more CPU (however long a busy machine takes to give it).
    let x = 0;
    while ((threadCpuMs() ?? 0) < start! + 800) for (let i = 0; i < 100_000; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    // A fresh thread reads its own few milliseconds of start-up, not this thread's ≥ 800 ms.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const stat = require('node:fs').readFileSync('/proc/thread-self/stat', 'latin1');
       const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
       parentPort.postMessage((Number(f[11]) + Number(f[12])) * 10);`,
      { eval: true },
    );
    const fresh = await new Promise<number>((resolve) => worker.once('message', resolve));
    await new Promise((resolve) => worker.once('exit', resolve));
    expect(fresh).toBeLessThan(400);
    expect(threadCpuMs()!).toBeGreaterThanOrEqual(start! + 800);
  });
});
