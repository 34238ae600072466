import { Piscina } from 'piscina';

/**
 * Where the worker module lives. Under the TypeScript sources (tests, tsx) the
 * worker is loaded through tsx; from the build it is plain JS.
 */
function workerModule(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    filename: new URL(`./serve-shard.${fromSource ? 'ts' : 'js'}`, import.meta.url).href,
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

/**
 * The engine's pool of shard workers: each runs exactly one long-lived shard task
 * (concurrentTasksPerWorker 1, min = max threads, atomics disabled so the worker's
 * event loop is never parked between tasks). docs/engine-workers.md records why.
 */
export function createShardPool(workers: number): Piscina {
  const { filename, execArgv } = workerModule();
  return new Piscina({
    filename,
    execArgv,
    minThreads: workers,
    maxThreads: workers,
    concurrentTasksPerWorker: 1,
    atomics: 'disabled',
    name: 'default',
  });
}
