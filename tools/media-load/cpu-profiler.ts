import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openWorkerInspector } from './inspector-workers.js';

/**
 * Samples the CPU of this thread and of every worker thread of this process
 * over an interval, through the inspector (the NodeWorker domain reaches the
 * engine's workers, which `--cpu-prof` does not when they are started with
 * their own execArgv). Writes one .cpuprofile per thread, loadable in Chrome
 * DevTools or speedscope. A diagnostic for load tests, never on by default.
 */
export interface CpuProfiling {
  /** Stops every profiler and writes the profiles into dir; returns the file paths. */
  stop(dir: string): Promise<string[]>;
}


export async function startCpuProfiling(timeoutMs = 10_000): Promise<CpuProfiling> {
  const inspector = await openWorkerInspector(timeoutMs);
  const { session, workers, call } = inspector;
  try {
    for (const w of workers) {
      await call(w, 'Profiler.enable');
      await call(w, 'Profiler.start');
    }
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  } catch (err) {
    await inspector.close();
    throw err;
  }

  return {
    async stop(dir: string): Promise<string[]> {
      try {
        await mkdir(dir, { recursive: true });
        const files: string[] = [];
        const stamp = Date.now();
        for (const [i, w] of workers.entries()) {
          const reply = await call(w, 'Profiler.stop');
          const file = join(dir, `engine-worker-${i}-${stamp}.cpuprofile`);
          await writeFile(file, JSON.stringify(reply.result?.['profile'] ?? {}));
          files.push(file);
        }
        const main = await session.post('Profiler.stop');
        const file = join(dir, `engine-main-${stamp}.cpuprofile`);
        await writeFile(file, JSON.stringify(main.profile));
        files.push(file);
        return files;
      } finally {
        await inspector.close();
      }
    },
  };
}
