import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../../common/src/errors.js';
import { writeReportFile } from '../../../common/src/report-file.js';
import { setLogLevel } from '../../../common/src/logger.js';
import { runLoadTest } from '../../media-load/orchestrator.js';
import { DATAGRAM_IO_CHOICES, type DatagramIoChoice } from '../../../engine/src/transport/datagram/open-datagram-port.js';
import type { LoadTestReport } from '../../media-load/report.js';
import { compareHotPath, HOT_PATH_OPERATION, type OperationComparison } from './hot-path-compare.js';
import { ensureNativeBuild, type NativePaths } from './native-build.js';
import {
  LOSS_THRESHOLD_PCT,
  describeRun,
  type BenchMachine,
  type EngineComparison,
  type EngineRun,
  type NativeBenchReport,
  type PairsSearch,
} from './native-report.js';
import { searchSustainedPairs } from './pairs-search.js';
import { runRelayLoadTest, type RelayLoadReport } from './relay-load-test.js';
import { positiveIntFlag } from './flags.js';

export { describeRun, type BenchMachine, type EngineComparison, type EngineRun, type NativeBenchReport, type PairsSearch, type SearchSide } from './native-report.js';
export { GENERATOR_LATE_LIMIT_MS, MIN_PROBE_PAIRS, searchSustainedPairs, type SearchPlan } from './pairs-search.js';

/**
 * `npm run bench:native`: Tandem against its C baseline, side by side in one run.
 *  1. hot path: Tandem's tinybench tasks and native-bench/hot_path, alternating rounds → Tandem/C per operation;
 *  2. whole engine: the same load generator drives Tandem's engine, then the C relay (mmsg and socket variants)
 *     and a bare Node dgram relay of the C socket relay's shape (node-relay.ts, the Node.js floor) at the
 *     same load → CPU per relayed packet;
 *  3. sustained pairs: stepwise more pairs until loss ≥ 0.1 %, for Tandem and the C relay (mmsg).
 * `--json FILE` writes every figure with the machine it ran on.
 */
export interface NativeRunOptions {
  rounds: number;
  opMs: number;
  loadPairs: number;
  seconds: number;
  warmupSeconds: number;
  steps: number[];
  threads: number;
  skipEngine: boolean;
  /** Tandem's socket I/O (`--io`, default auto: the batched addon when it loads). */
  io?: DatagramIoChoice;
  /** Stop starting pair-search steps once this much time has gone (the whole run must stay under 4 minutes). */
  budgetSeconds: number;
  /** Where progress lines go; default stdout. */
  print?: (line: string) => void;
  /** The command line to record in the report. */
  command?: string;
}

/** Rough cost of one load-test step beyond its measured seconds (startup, warm-up, drain, teardown). */
const STEP_OVERHEAD_S = 7;

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function perPacket(cpuS: number, relayed: number): number {
  return relayed > 0 ? round((cpuS / relayed) * 1e6) : 0;
}

function fromTandem(r: LoadTestReport): Omit<EngineRun, 'run_s'> {
  // The orchestrator reports CPU as % of the measured window, which lasts `seconds`.
  const cpuS = (r.cpu_pct / 100) * r.seconds;
  const relayed = Math.min(r.packets_in, r.packets_out);
  return {
    variant: 'tandem',
    io: r.io,
    pairs: r.pairs,
    loss_pct: r.loss_pct,
    cpu_pct: r.cpu_pct,
    cpu_s: round(cpuS),
    packets_in: r.packets_in,
    packets_out: r.packets_out,
    relayed_packets: relayed,
    cpu_us_per_packet: perPacket(cpuS, relayed),
    generator_send_late_p99_ms: r.generator.send_late_p99_ms,
    latency_p50_ms: r.latency_p50_ms,
    latency_p99_ms: r.latency_p99_ms,
    sustained: r.loss_pct < LOSS_THRESHOLD_PCT,
  };
}

function fromRelay(r: RelayLoadReport): Omit<EngineRun, 'run_s'> {
  const relayed = Math.min(r.packets_in, r.packets_out);
  return {
    variant: r.variant,
    pairs: r.pairs,
    loss_pct: r.loss_pct,
    cpu_pct: r.cpu_pct,
    cpu_s: r.cpu_s,
    packets_in: r.packets_in,
    packets_out: r.packets_out,
    relayed_packets: relayed,
    cpu_us_per_packet: perPacket(r.cpu_s, relayed),
    generator_send_late_p99_ms: r.generator_send_late_p99_ms,
    latency_p50_ms: r.latency_p50_ms,
    latency_p99_ms: r.latency_p99_ms,
    sustained: r.loss_pct < LOSS_THRESHOLD_PCT,
  };
}

/** A failed run counts as not sustained, with the reason kept: the search goes on. */
async function attempt(variant: string, pairs: number, run: () => Promise<Omit<EngineRun, 'run_s'>>): Promise<EngineRun> {
  const t0 = performance.now();
  const runS = (): number => round((performance.now() - t0) / 1000, 1);
  try {
    return { ...(await run()), run_s: runS() };
  } catch (err) {
    return {
      variant,
      pairs,
      loss_pct: 100,
      cpu_pct: 0,
      cpu_s: 0,
      packets_in: 0,
      packets_out: 0,
      relayed_packets: 0,
      cpu_us_per_packet: 0,
      generator_send_late_p99_ms: 0,
      latency_p50_ms: 0,
      latency_p99_ms: 0,
      sustained: false,
      run_s: runS(),
      error: errorMessage(err),
    };
  }
}

function printLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

function compilerVersion(): string {
  try {
    return execFileSync('cc', ['--version'], { encoding: 'utf8', timeout: 10_000 }).split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function machine(): Omit<BenchMachine, 'loadavg_at_end'> {
  return {
    cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    compiler: compilerVersion(),
    loadavg: loadavg().map((l) => round(l, 2)),
  };
}

function runTandem(o: NativeRunOptions, pairs: number): Promise<EngineRun> {
  return attempt('tandem', pairs, async () =>
    fromTandem(await runLoadTest({ pairs, seconds: o.seconds, warmupSeconds: o.warmupSeconds, heapProbe: false, preferTone: true, workers: o.threads, engine: { io: o.io ?? 'auto' } })),
  );
}

function runC(o: NativeRunOptions, paths: NativePaths, mode: 'mmsg' | 'socket', pairs: number): Promise<EngineRun> {
  return attempt(`c-relay-${mode}`, pairs, async () =>
    fromRelay(await runRelayLoadTest({ relayBinary: paths.relay, mode, pairs, seconds: o.seconds, warmupSeconds: o.warmupSeconds, threads: o.threads })),
  );
}

function runNodeRelay(o: NativeRunOptions, pairs: number): Promise<EngineRun> {
  return attempt('node-relay', pairs, async () =>
    fromRelay(await runRelayLoadTest({ mode: 'node', pairs, seconds: o.seconds, warmupSeconds: o.warmupSeconds, threads: o.threads })),
  );
}

/** a ÷ b of CPU per relayed packet; null when either produced no figure. */
function cpuRatio(a: EngineRun, b: EngineRun): number | null {
  return a.cpu_us_per_packet > 0 && b.cpu_us_per_packet > 0 ? round(a.cpu_us_per_packet / b.cpu_us_per_packet) : null;
}

export async function runNative(o: NativeRunOptions): Promise<NativeBenchReport> {
  const say = o.print ?? printLine;
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const machineAtStart = machine();
  say(`machine: ${machineAtStart.cpu_model} x${machineAtStart.cores}, load ${machineAtStart.loadavg.join(' ')}, node ${process.version}, ${machineAtStart.compiler}`);
  const paths = await ensureNativeBuild();

  say(`\nhot path, ${o.rounds} alternating rounds (ns/op; Tandem in a fresh isolate per operation: tinybench = median call minus an empty call, batched = timed like C):`);
  const ops = await compareHotPath(paths, { rounds: o.rounds, ms: o.opMs });
  const width = Math.max(...ops.map((x) => x.name.length));
  say(`${'operation'.padEnd(width)}  ${'tinybench'.padStart(9)}  ${'batched'.padStart(9)}  ${'C'.padStart(8)}  Tandem/C (tinybench, batched)`);
  for (const op of ops) {
    say(
      `${op.name.padEnd(width)}  ${op.tandem_tinybench_ns.toFixed(1).padStart(9)}  ${op.tandem_batched_ns.toFixed(1).padStart(9)}  ` +
        `${op.c_ns.toFixed(1).padStart(8)}  ${op.ratio_tinybench.toFixed(2)}×, ${op.ratio_batched.toFixed(2)}×${op.timer_bound ? '  (*)' : ''}`,
    );
  }
  if (ops.some((x) => x.timer_bound)) say('(*) shorter than per-call timing can resolve: the batched figure is the one to read');
  const hot = ops.find((x) => x.name === HOT_PATH_OPERATION) as OperationComparison;

  let engine: EngineComparison | null = null;
  let search: PairsSearch | null = null;
  let engineCpuRatio: number | null = null;
  let engineCpuRatioVsNodeRelay: number | null = null;
  let nodeRelayCpuRatioVsC: number | null = null;
  let enginePairsRatio: number | null = null;
  if (!o.skipEngine) {
    say(`\nwhole engine at ${o.loadPairs} pairs, ${o.seconds} s measured each (mirror mode; the relays forward at once, a lower bound):`);
    const tandem = await runTandem(o, o.loadPairs);
    say(describeRun(tandem));
    const cMmsg = await runC(o, paths, 'mmsg', o.loadPairs);
    say(describeRun(cMmsg));
    const cSocket = await runC(o, paths, 'socket', o.loadPairs);
    say(describeRun(cSocket));
    const nodeRelay = await runNodeRelay(o, o.loadPairs);
    say(describeRun(nodeRelay));
    engineCpuRatio = cpuRatio(tandem, cMmsg);
    engineCpuRatioVsNodeRelay = cpuRatio(tandem, nodeRelay);
    nodeRelayCpuRatioVsC = cpuRatio(nodeRelay, cMmsg);
    const vsSocket = cpuRatio(tandem, cSocket);
    engine = { pairs: o.loadPairs, seconds: o.seconds, tandem, c_mmsg: cMmsg, c_socket: cSocket, node_relay: nodeRelay, engine_cpu_ratio_vs_socket: vsSocket };
    say(
      `CPU per relayed packet, Tandem/C: ${engineCpuRatio ?? 'n/a'}× vs mmsg, ${vsSocket ?? 'n/a'}× vs socket-per-leg; ` +
        `Tandem/Node relay ${engineCpuRatioVsNodeRelay ?? 'n/a'}×, Node relay/C mmsg ${nodeRelayCpuRatioVsC ?? 'n/a'}×`,
    );

    search = await searchSustainedPairs(
      { steps: o.steps, loadPairs: o.loadPairs, seconds: o.seconds, stepCostSeconds: o.warmupSeconds + o.seconds + STEP_OVERHEAD_S, budgetSeconds: o.budgetSeconds },
      { tandem, c_mmsg: cMmsg },
      (side, pairs) => (side === 'tandem' ? runTandem(o, pairs) : runC(o, paths, 'mmsg', pairs)),
      elapsed,
      say,
    );
    enginePairsRatio = search.c_sustained_pairs > 0 ? round(search.tandem_sustained_pairs / search.c_sustained_pairs) : null;
    say(
      `sustained pairs (< ${LOSS_THRESHOLD_PCT} % loss): Tandem ${search.tandem_sustained_pairs}${search.tandem_censored ? '+' : ''}, ` +
        `C ${search.c_sustained_pairs}${search.c_censored ? '+' : ''} → ratio ${enginePairsRatio ?? 'n/a'}` +
        (search.c_censored ? ' (C never failed: its limit is higher, so the ratio is an upper bound)' : ''),
    );
  }

  const result: NativeBenchReport = {
    command: o.command ?? 'npm run bench:native',
    finished_at: new Date().toISOString(),
    elapsed_s: round(elapsed(), 1),
    machine: { ...machineAtStart, loadavg_at_end: loadavg().map((l) => round(l, 2)) },
    hot_path_ratio: round(hot.ratio_tinybench),
    hot_path_ratio_batched: round(hot.ratio_batched),
    engine_cpu_ratio: engineCpuRatio,
    engine_cpu_ratio_vs_node_relay: engineCpuRatioVsNodeRelay,
    node_relay_cpu_ratio_vs_c: nodeRelayCpuRatioVsC,
    engine_pairs_ratio: enginePairsRatio,
    hot_path: { rounds: o.rounds, ms_per_operation: o.opMs, operations: ops },
    engine,
    pairs_search: search,
    targets: {
      hot_path_within_3x: hot.ratio_tinybench <= 3,
      engine_cpu_within_2_5x: engineCpuRatio === null ? null : engineCpuRatio <= 2.5,
      engine_pairs_at_least_half: enginePairsRatio === null ? null : enginePairsRatio >= 0.5,
      tandem_at_least_800_pairs: search === null ? null : search.tandem_sustained_pairs >= 800,
    },
  };
  say(`\nhot_path_ratio ${result.hot_path_ratio} (batched ${result.hot_path_ratio_batched}), engine_cpu_ratio ${engineCpuRatio ?? 'n/a'}, engine_pairs_ratio ${enginePairsRatio ?? 'n/a'}; ${result.elapsed_s} s`);
  return result;
}

async function main(): Promise<void> {
  // Progress lines are the output; the engine's, the generator's and the relay runner's info logs would bury them.
  // Set before any worker or child starts, since they read it from the environment.
  process.env['TANDEM_LOG_LEVEL'] ??= 'warn';
  setLogLevel(process.env['TANDEM_LOG_LEVEL']);
  const { values } = parseArgs({
    options: {
      json: { type: 'string' },
      rounds: { type: 'string' },
      'op-ms': { type: 'string' },
      pairs: { type: 'string' },
      seconds: { type: 'string' },
      steps: { type: 'string' },
      threads: { type: 'string' },
      'hot-path-only': { type: 'boolean' },
      io: { type: 'string' },
    },
  });
  const steps = (values.steps ?? '200,400,600,800,1000,1200,1500').split(',').map((s) => positiveIntFlag('steps', s.trim(), 0));
  const options: NativeRunOptions = {
    rounds: positiveIntFlag('rounds', values.rounds, 3),
    opMs: positiveIntFlag('op-ms', values['op-ms'], 150),
    loadPairs: positiveIntFlag('pairs', values.pairs, 300),
    seconds: positiveIntFlag('seconds', values.seconds, 8),
    warmupSeconds: 2,
    steps: [...new Set(steps)].sort((a, b) => a - b),
    threads: positiveIntFlag('threads', values.threads, availableParallelism()),
    skipEngine: values['hot-path-only'] === true,
    io: ioChoice(values.io),
    // 210 s for everything up to the last pair-search step, plus the Node relay run (~12 s) added to the
    // comparison, so the search keeps its steps. A step is estimated at ~17 s and takes ~12, so the run
    // still ends before about 225 s: under the 4 minutes, npm's and tsx's start included.
    budgetSeconds: 222,
  };
  const args = process.argv.slice(2).join(' ');
  const result = await runNative({ ...options, command: `npm run bench:native${args ? ` -- ${args}` : ''}` });
  if (values.json) {
    writeReportFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
    printLine(`wrote ${values.json}`);
  }
}

function ioChoice(value: string | undefined): DatagramIoChoice {
  if (value === undefined) return 'auto';
  const choice = DATAGRAM_IO_CHOICES.find((c) => c === value);
  if (choice === undefined) throw new RangeError(`--io must be one of ${DATAGRAM_IO_CHOICES.join(', ')}, got ${value}`);
  return choice;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:native failed: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
