import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { z } from 'zod';
import { addCodecBenches } from '../codec.bench.js';
import { addHotPathBenches } from '../hot-path.bench.js';
import { addRtpBenches } from '../rtp.bench.js';
import type { NativePaths } from './native-build.js';
import { runNativeHotPath, type NativeBenchResult } from './native-hot-path.js';

/**
 * Tandem's tinybench tasks and hot_path's C operations of the same names,
 * measured in alternating rounds, so that whatever else the machine is doing
 * weighs on both. Each Tandem task is measured twice: by tinybench (one timer
 * read per call; median call minus the median of an empty call) and by a
 * batched loop timed like the C side, which is the like-for-like figure.
 *
 * Each Tandem operation runs in a fresh V8 isolate (a worker thread). In one
 * shared isolate the benchmarks poison each other's type feedback: the codec
 * tasks pass Uint8Arrays and the hot path passes Buffers to the same
 * functions, which then run polymorphic and measured about twice as slow as
 * alone (hot path ~780 vs ~340-460 ns here). The engine's receive path only
 * ever sees Buffers, so the isolated figure is the representative one.
 */
export const COMPARED_OPERATIONS = [
  'rtp parse',
  'ulaw decode 20ms',
  'ulaw encode 20ms',
  'rtp packetizer writeHeader',
  'hot path: parse+decode+encode+packetize (ulaw 20ms)',
] as const;
export const HOT_PATH_OPERATION = COMPARED_OPERATIONS[4];
/** Below this, a per-call timing minus an estimated timer cost is mostly noise. */
const TIMER_BOUND_NS = 200;
const EMPTY_TASK = 'empty (timer and call cost)';
const EMPTY_TASK_MS = 10;

export interface OperationRound {
  tandemTinybenchNs: number;
  tandemBatchedNs: number;
  cNs: number;
}

export interface OperationComparison {
  name: string;
  /** Medians over the rounds. */
  tandem_tinybench_ns: number;
  tandem_batched_ns: number;
  c_ns: number;
  /** Tandem ÷ C. */
  ratio_tinybench: number;
  ratio_batched: number;
  /** Tinybench's per-call figure is within reach of timer resolution: trust the batched one. */
  timer_bound: boolean;
  rounds: OperationRound[];
}

type TaskFn = () => void;

/**
 * The task functions the bench files register, captured without tinybench so
 * they can also be timed in batches. The bench files only call `add`.
 */
function captureTasks(): Map<string, TaskFn> {
  const tasks = new Map<string, TaskFn>();
  const recorder = {
    add(name: string, fn: TaskFn) {
      tasks.set(name, fn);
      return recorder;
    },
  };
  const asBench = recorder as unknown as Bench;
  addRtpBenches(asBench);
  addCodecBenches(asBench);
  addHotPathBenches(asBench);
  return tasks;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median ns/op over ~20 µs batches for `ms` milliseconds (the method of
 * hot_path.c): short enough that few batches are preempted on a busy machine,
 * long enough that the clock read is noise.
 */
export function timeBatched(fn: TaskFn, ms: number): number {
  let iterations = 8;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) fn();
    if (performance.now() - t0 >= 0.02 || iterations >= 1 << 30) break;
    iterations *= 2;
  }
  const perOp: number[] = [];
  const end = performance.now() + ms;
  while (perOp.length < 5 || (performance.now() < end && perOp.length < 1 << 16)) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) fn();
    perOp.push(((performance.now() - t0) * 1e6) / iterations);
  }
  return median(perOp);
}

/**
 * One Tandem operation, by tinybench (median call, timer cost subtracted) and
 * by batches. Runs in the calling isolate: use `measureInIsolate` for figures.
 */
export async function measureTandemOperation(name: string, ms: number): Promise<{ tinybenchNs: number; batchedNs: number }> {
  const fn = captureTasks().get(name);
  if (!fn) throw new Error(`no tinybench task named '${name}'`);
  // An empty task measured the same way gives the cost of the timer reads and the call itself, which is
  // subtracted. (tinybench's own subtractTimerOverhead calibrates once, before the JIT has warmed up, and
  // over-subtracts in a fresh isolate.)
  // The empty task gets a short budget: tinybench keeps and sorts every sample, and it makes millions.
  const empty = new Bench({ time: EMPTY_TASK_MS, warmupTime: 20 }).add(EMPTY_TASK, () => {});
  const bench = new Bench({ time: ms, warmupTime: 100 }).add(name, fn);
  await empty.run();
  await bench.run();
  const p50 = (task: string): number => {
    const result = (task === EMPTY_TASK ? empty : bench).getTask(task)?.result;
    if (!result || !('latency' in result)) throw new Error(`benchmark ${task} produced no result`);
    // The median: a call preempted on a busy machine moves the mean, not the median (C reports its median batch).
    return result.latency.p50 * 1e6;
  };
  const tinybenchNs = Math.max(0, p50(name) - p50(EMPTY_TASK));
  return { tinybenchNs, batchedNs: timeBatched(fn, ms) };
}

const isolateResultSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('result'), tinybenchNs: z.number().nonnegative(), batchedNs: z.number().positive() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
const ISOLATE_TIMEOUT_MS = 60_000;

/**
 * Starts hot-path-isolate in a worker thread. From the TypeScript sources the
 * thread boots from a one-line script that registers tsx's loader first
 * (--import in a Worker's execArgv does not load hooks on Node 20).
 */
function startIsolate(name: string, ms: number): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./hot-path-isolate.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  const workerData = { name, ms };
  if (!fromSource) return new Worker(url, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** Measures one Tandem operation in a fresh V8 isolate (a worker thread), then ends the thread. */
export async function measureInIsolate(name: string, ms: number): Promise<{ tinybenchNs: number; batchedNs: number }> {
  const worker = startIsolate(name, ms);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`measuring '${name}' took more than ${ISOLATE_TIMEOUT_MS} ms`)), ISOLATE_TIMEOUT_MS);
      const settle = (f: () => void): void => {
        clearTimeout(timer);
        f();
      };
      worker.once('message', (raw: unknown) => {
        const parsed = isolateResultSchema.safeParse(raw);
        if (!parsed.success) settle(() => reject(new Error(`malformed message from the '${name}' isolate`)));
        else if (parsed.data.type === 'error') settle(() => reject(new Error(`measuring '${name}': ${(parsed.data as { message: string }).message}`)));
        else {
          const { tinybenchNs, batchedNs } = parsed.data;
          settle(() => resolve({ tinybenchNs, batchedNs }));
        }
      });
      worker.once('error', (err) => settle(() => reject(err)));
      worker.once('exit', (code) => settle(() => reject(new Error(`the '${name}' isolate exited (code ${code}) before reporting`))));
    });
  } finally {
    await worker.terminate();
  }
}

function byName(results: readonly NativeBenchResult[]): Map<string, number> {
  return new Map(results.map((r) => [r.name, r.ns_per_op]));
}

/**
 * `rounds` alternating rounds of Tandem (each operation in its own isolate,
 * tinybench and batched) and C (all operations in one hot_path run); each
 * operation measured ~`ms` per round and method. Medians over rounds.
 */
export async function compareHotPath(paths: NativePaths, options: { rounds: number; ms: number; onRound?: (round: number) => void }): Promise<OperationComparison[]> {
  const perRound: Array<{ tandem: Map<string, { tinybenchNs: number; batchedNs: number }>; c: Map<string, number> }> = [];
  for (let r = 0; r < options.rounds; r++) {
    // Alternate who goes first, so neither side always meets the same machine state.
    const cFirst = r % 2 === 1;
    const c1 = cFirst ? byName(await runNativeHotPath(paths, options.ms)) : null;
    const tandem = new Map<string, { tinybenchNs: number; batchedNs: number }>();
    for (const name of COMPARED_OPERATIONS) tandem.set(name, await measureInIsolate(name, options.ms));
    const c = c1 ?? byName(await runNativeHotPath(paths, options.ms));
    perRound.push({ tandem, c });
    options.onRound?.(r + 1);
  }
  return COMPARED_OPERATIONS.map((name) => {
    const rounds = perRound.map((p): OperationRound => {
      const cNs = p.c.get(name);
      const t = p.tandem.get(name);
      if (cNs === undefined || t === undefined) throw new Error(`no figure for '${name}'`);
      return { tandemTinybenchNs: t.tinybenchNs, tandemBatchedNs: t.batchedNs, cNs };
    });
    const tiny = median(rounds.map((x) => x.tandemTinybenchNs));
    const batched = median(rounds.map((x) => x.tandemBatchedNs));
    const c = median(rounds.map((x) => x.cNs));
    return { name, tandem_tinybench_ns: tiny, tandem_batched_ns: batched, c_ns: c, ratio_tinybench: tiny / c, ratio_batched: batched / c, timer_bound: tiny < TIMER_BOUND_NS, rounds };
  });
}
