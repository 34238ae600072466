import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../common/errors.js';
import { logger } from '../common/logger.js';
import { MediaEngine, type EngineStats } from '../engine.js';
import type { OpenPairResult } from '../worker/protocol.js';
import {
  GENERATOR_ENV,
  fromGeneratorSchema,
  parseMessage,
  type CoreResult,
  type FromGenerator,
  type GeneratorPairPorts,
  type GeneratorProgress,
  type ToGenerator,
} from './generator-protocol.js';
import { startCpuProfiling } from './cpu-profiler.js';
import { sampleHeap, type HeapSample } from './heap-probe.js';
import { Histogram } from './histogram.js';
import { HEAP_GROWTH_TOLERANCE_MB, round, type DirectionReport, type EngineCounters, type LoadTestReport } from './report.js';
import { machineInfo, readSchedTimes, readUdpCounters, schedWaitPct, type UdpCounters } from './system-counters.js';

/**
 * Runs one load test: the engine in this process (so this process's CPU and
 * RSS are the engine's), the generator in a forked child playing Asterisk for
 * every pair. Every step has a deadline, and one overall deadline kills the
 * child and fails the run with a clear message.
 */
export interface LoadTestOptions {
  pairs: number;
  /** Measured seconds (after the warm-up). */
  seconds: number;
  /** Engine worker threads. Default: one per core. */
  workers?: number;
  /** The generator sends 172-byte µ-law packets: ulaw is the only codec it speaks. */
  codec?: 'ulaw';
  /** Unmeasured seconds before the measured window (jitter buffers settle, JIT warms up). Default 5. */
  warmupSeconds?: number;
  /** Time after the last send for in-flight frames to come back. Default 600 ms (> 200 ms max jitter depth). */
  drainMs?: number;
  /** Generator core threads. Default: one per 250 pairs, at most 2. */
  generatorThreads?: number;
  /** Engine leg ports. Default 10000–19999: below Linux's ephemeral range where the generator binds. */
  portRange?: { min: number; max: number };
  /** Kernel socket buffers, engine and generator. Default 2 MiB. */
  socketBufferBytes?: number;
  /** Play the tone sweep even when espeak-ng is installed (tests). */
  preferTone?: boolean;
  /** Measure engine heap after a full GC at both ends of the window. Default true. */
  heapProbe?: boolean;
  /** Profile every engine thread over the measured window and write .cpuprofile files here (a diagnostic). */
  cpuProfileDir?: string;
  /** Overall deadline; default scales with pairs and seconds. */
  deadlineMs?: number;
  onProgress?: (progress: LoadTestProgress) => void;
  /** Observation points for tests (the engine and the child, to check they are gone afterwards). */
  hooks?: { engineStarted?: (engine: MediaEngine) => void; generatorForked?: (child: ChildProcess) => void };
}

export interface LoadTestProgress {
  phase: 'warmup' | 'measuring' | 'draining';
  elapsedSeconds: number;
  pairs: number;
  /** Packets per second the generator sent (engine in) and received (engine out) since the last line. */
  ppsOut: number;
  ppsIn: number;
  /** Measured-window loss so far; includes frames still in flight, so slightly high while running. */
  lossSoFarPct: number;
  generatorMaxSendLateMs: number;
}

export type LoadTestErrorCode = 'INVALID_OPTIONS' | 'DEADLINE' | 'GENERATOR_FAILED' | 'GENERATOR_EXITED';

export class LoadTestError extends Error {
  override readonly name = 'LoadTestError';
  constructor(
    readonly code: LoadTestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const STEP_TIMEOUT_MS = 30_000;
const OPEN_CONCURRENCY = 16;
const log = logger('loadtest');

interface Resolved {
  pairs: number;
  seconds: number;
  workers: number | undefined;
  warmupSeconds: number;
  drainMs: number;
  generatorThreads: number;
  portRange: { min: number; max: number };
  socketBufferBytes: number;
  preferTone: boolean;
  heapProbe: boolean;
  cpuProfileDir: string | undefined;
  deadlineMs: number;
}

function resolveOptions(o: LoadTestOptions): Resolved {
  const bad = (msg: string): never => {
    throw new LoadTestError('INVALID_OPTIONS', msg);
  };
  if (!Number.isInteger(o.pairs) || o.pairs < 1) bad(`pairs must be a positive integer, got ${o.pairs}`);
  if (!(o.seconds > 0) || o.seconds > 3600) bad(`seconds must be in (0, 3600], got ${o.seconds}`);
  if (o.codec !== undefined && o.codec !== 'ulaw') bad(`codec: the generator only speaks ulaw, got ${String(o.codec)}`);
  const warmupSeconds = o.warmupSeconds ?? 5;
  if (!(warmupSeconds >= 0) || warmupSeconds > 600) bad(`warmupSeconds must be in [0, 600], got ${warmupSeconds}`);
  const portRange = o.portRange ?? { min: 10000, max: 19999 };
  if (portRange.max - portRange.min + 1 < o.pairs * 2) bad(`port range ${portRange.min}-${portRange.max} is too small for ${o.pairs} pairs`);
  const generatorThreads = o.generatorThreads ?? Math.min(2, Math.max(1, Math.ceil(o.pairs / 250)));
  if (!Number.isInteger(generatorThreads) || generatorThreads < 1 || generatorThreads > 16) bad(`generatorThreads must be 1-16, got ${generatorThreads}`);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1)) bad(`workers must be a positive integer, got ${o.workers}`);
  const drainMs = o.drainMs ?? 600;
  return {
    pairs: o.pairs,
    seconds: o.seconds,
    workers: o.workers,
    warmupSeconds,
    drainMs,
    generatorThreads,
    portRange,
    socketBufferBytes: o.socketBufferBytes ?? 2 * 1024 * 1024,
    preferTone: o.preferTone ?? false,
    heapProbe: o.heapProbe ?? true,
    cpuProfileDir: o.cpuProfileDir,
    deadlineMs: o.deadlineMs ?? 60_000 + o.pairs * 50 + (warmupSeconds + o.seconds) * 1000 + drainMs + 30_000,
  };
}

/** Runs items through fn with at most `limit` in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(lanes);
  return out;
}

function generatorModule(): { path: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    path: new URL(`./generator.${fromSource ? 'ts' : 'js'}`, import.meta.url),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

/**
 * The orchestrator's side of the IPC channel: typed messages in, one waiter
 * per awaited message type, and every waiter failed when the child dies.
 */
class GeneratorLink {
  readonly child: ChildProcess;
  #failure: LoadTestError | null = null;
  #reported = false;
  readonly #waiters = new Set<{ type: FromGenerator['type']; resolve: (m: FromGenerator) => void; reject: (e: Error) => void }>();
  readonly #onMessage: (m: FromGenerator) => void;

  constructor(onMessage: (m: FromGenerator) => void) {
    this.#onMessage = onMessage;
    const { path, execArgv } = generatorModule();
    this.child = fork(path, [], {
      execArgv,
      env: { ...process.env, [GENERATOR_ENV]: '1' },
      // The generator's logs go to our stderr, never into a report on stdout.
      stdio: ['ignore', 2, 2, 'ipc'],
      serialization: 'advanced',
    });
    this.child.on('message', (raw: unknown) => {
      let message: FromGenerator;
      try {
        message = parseMessage(fromGeneratorSchema, raw, 'generator');
      } catch (err) {
        this.#fail(new LoadTestError('GENERATOR_FAILED', errorMessage(err)));
        return;
      }
      if (message.type === 'error') {
        this.#fail(new LoadTestError('GENERATOR_FAILED', `generator: ${message.message}`));
        return;
      }
      if (message.type === 'result') this.#reported = true;
      this.#onMessage(message);
      for (const w of [...this.#waiters]) {
        if (w.type === message.type) {
          this.#waiters.delete(w);
          w.resolve(message);
        }
      }
    });
    this.child.on('error', (err) => this.#fail(new LoadTestError('GENERATOR_FAILED', `generator process: ${err.message}`)));
    this.child.on('exit', (code, signal) => {
      this.#fail(new LoadTestError('GENERATOR_EXITED', `generator exited (code ${code ?? '-'}, signal ${signal ?? '-'}) before it reported`));
    });
  }

  send(message: ToGenerator): void {
    if (this.#failure) throw this.#failure;
    if (this.child.connected) this.child.send(message);
  }

  waitFor<T extends FromGenerator['type']>(type: T, timeoutMs: number): Promise<Extract<FromGenerator, { type: T }>> {
    if (this.#failure) return Promise.reject(this.#failure);
    const waiting = new Promise<Extract<FromGenerator, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new LoadTestError('DEADLINE', `generator sent no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (m: FromGenerator) => {
          clearTimeout(timer);
          resolve(m as Extract<FromGenerator, { type: T }>);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#waiters.add(waiter);
    });
    // A waiter can fail (child gone) before its caller reaches the await; that must not be an
    // unhandled rejection. The caller still sees the rejection when it awaits.
    waiting.catch(() => undefined);
    return waiting;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Tells the child to stop (clean after its result, abort otherwise), waits, then kills it. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) {
      try {
        this.child.send({ type: this.#reported ? 'stop' : 'abort' } satisfies ToGenerator);
      } catch {
        // The channel closed in between: the exit below still comes.
      }
    }
    const waitExit = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      const exited = await Promise.race([gone.then(() => true), timeout]);
      clearTimeout(timer);
      return exited || this.exited;
    };
    if (await waitExit(graceMs)) return;
    this.child.kill('SIGKILL');
    if (!(await waitExit(graceMs))) log.error({ pid: this.child.pid }, 'the generator process did not exit after SIGKILL');
  }

  #fail(error: LoadTestError): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const w of this.#waiters) w.reject(error);
    this.#waiters.clear();
  }
}

interface Snapshot {
  totals: EngineTotals;
  udp: UdpCounters | null;
  heap: HeapSample | null;
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestReport> {
  const o = resolveOptions(options);
  const machine = machineInfo();
  let engine: MediaEngine | null = null;
  let link: GeneratorLink | null = null;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    deadlineTimer = setTimeout(
      () => reject(new LoadTestError('DEADLINE', `the load test did not finish within its overall deadline of ${Math.round(o.deadlineMs / 1000)} s`)),
      o.deadlineMs,
    );
  });
  // Set once the run is over (deadline or failure): a start that completes afterwards cleans up after itself.
  let over = false;
  try {
    return await Promise.race([
      (async () => {
        const started = await MediaEngine.start({
          ...(o.workers !== undefined ? { workers: o.workers } : {}),
          bindAddress: '127.0.0.1',
          portRange: o.portRange,
          codec: 'ulaw',
          socketBufferBytes: o.socketBufferBytes,
        });
        if (over) {
          await started.close();
          throw new LoadTestError('DEADLINE', 'the engine started after the load test was over');
        }
        engine = started;
        options.hooks?.engineStarted?.(started);
        const progress = new ProgressTracker(o.pairs, options.onProgress);
        link = new GeneratorLink((m) => progress.onMessage(m));
        options.hooks?.generatorForked?.(link.child);
        return await drive(engine, link, o, progress, machine);
      })(),
      deadline,
    ]);
  } finally {
    over = true;
    clearTimeout(deadlineTimer);
    const l = link as GeneratorLink | null;
    const e = engine as MediaEngine | null;
    // Engine first: its legs stop sending before the generator's ports close (no ICMP storm).
    await e?.close().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'closing the engine failed'));
    await l?.stop(3000).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping the generator failed'));
  }
}

async function drive(
  engine: MediaEngine,
  link: GeneratorLink,
  o: Resolved,
  progress: ProgressTracker,
  machine: ReturnType<typeof machineInfo>,
): Promise<LoadTestReport> {
  let phaseListener: (phase: 'probe' | 'measuring' | 'draining') => void = () => {};
  progress.onPhase = (phase) => phaseListener(phase);
  await link.waitFor('hello', STEP_TIMEOUT_MS);
  const indices = Array.from({ length: o.pairs }, (_, i) => i);
  const opened: OpenPairResult[] = await mapLimit(indices, OPEN_CONCURRENCY, (i) =>
    engine.openPair({ pairId: `lt_${String(i).padStart(5, '0')}`, extA: String(7000 + 2 * i), extB: String(7001 + 2 * i) }),
  );
  log.info({ pairs: o.pairs, workers: engine.config.workers }, 'pairs open');
  const ready = link.waitFor('ready', STEP_TIMEOUT_MS + o.pairs * 20);
  link.send({
    type: 'setup',
    pairs: opened.map((p, index) => ({ index, legA: p.legA, legB: p.legB })),
    threads: o.generatorThreads,
    socketBufferBytes: o.socketBufferBytes,
    preferTone: o.preferTone,
  });
  const { ports, audio, threads } = await ready;
  const byIndex = new Map<number, GeneratorPairPorts>(ports.map((p) => [p.index, p]));
  await mapLimit(opened, OPEN_CONCURRENCY * 2, async (pair, index) => {
    const p = byIndex.get(index);
    if (!p) throw new LoadTestError('GENERATOR_FAILED', `generator opened no sockets for pair ${index}`);
    await engine.setRemote(pair.pairId, 'A', { address: '127.0.0.1', port: p.portA });
    await engine.setRemote(pair.pairId, 'B', { address: '127.0.0.1', port: p.portB });
  });

  const runMs = (o.warmupSeconds + o.seconds) * 1000 + o.drainMs;
  // Only the summary outlives the result message, so the end heap probe does not measure it.
  const result = link
    .waitFor('result', STEP_TIMEOUT_MS + runMs)
    .then((m) => ({ summary: summarizeGenerator(m.result), cpuPct: m.cpuPct, cpuWaitPct: m.cpuWaitPct }));
  // The heap probe (a full GC per thread) runs at 'probe' when the warm-up has room for it, else at 'measuring'.
  let heapStart: Promise<HeapSample | null> | null = null;
  const measuring = new Promise<void>((resolve, reject) => {
    phaseListener = (phase) => {
      if (phase === 'probe' && o.heapProbe) heapStart = probeHeap();
      if (phase === 'measuring') resolve();
    };
    result.catch(reject);
  });
  link.send({ type: 'start', schedule: { warmupMs: o.warmupSeconds * 1000, measureMs: o.seconds * 1000, drainMs: o.drainMs } });
  log.info({ pairs: o.pairs, seconds: o.seconds, warmupSeconds: o.warmupSeconds, audio: audio.source, generatorThreads: threads }, 'load test running');

  await withTimeout(measuring, STEP_TIMEOUT_MS + o.warmupSeconds * 1000, 'the measured window did not start');
  const draining = link.waitFor('phase', STEP_TIMEOUT_MS + o.seconds * 1000);
  const cpu0 = process.cpuUsage();
  const sched0 = readSchedTimes();
  const t0 = performance.now();
  // Reduced at once: a stats object of every pair must not sit in the heap the end probe measures.
  const startTotals = engineTotals(await engineStats(engine));
  const startUdp = readUdpCounters();
  heapStart ??= o.heapProbe ? probeHeap() : Promise.resolve(null);
  const profiling = o.cpuProfileDir !== undefined ? await startCpuProfiling().catch((err: unknown) => {
    log.warn({ err: errorMessage(err) }, 'CPU profiling did not start');
    return null;
  }) : null;
  let rssPeak = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 1000);
  let cpuPct: number;
  let rss: number;
  let summary: GeneratorSummary;
  let generatorCpuPct: number;
  let generatorCpuWaitPct: number | null;
  let cpuWaitPct: number | null;
  try {
    await draining;
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    cpuPct = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
    cpuWaitPct = schedWaitPct(sched0, readSchedTimes(), wallMs);
    if (profiling && o.cpuProfileDir !== undefined) {
      const files = await profiling.stop(o.cpuProfileDir).catch((err: unknown) => {
        log.warn({ err: errorMessage(err) }, 'writing CPU profiles failed');
        return [];
      });
      log.warn({ files }, 'CPU profiles written');
    }
    rss = process.memoryUsage().rss;
    rssPeak = Math.max(rssPeak, rss);
    ({ summary, cpuPct: generatorCpuPct, cpuWaitPct: generatorCpuWaitPct } = await result);
  } finally {
    clearInterval(rssTimer);
  }
  const start: Snapshot = { totals: startTotals, udp: startUdp, heap: await heapStart };
  const endTotals = engineTotals(await engineStats(engine));
  const endUdp = readUdpCounters();
  const end: Snapshot = { totals: endTotals, udp: endUdp, heap: o.heapProbe ? await probeHeap() : null };
  return buildReport({ o, machine, audioSource: audio.source, threads, start, end, cpuPct, rss, rssPeak, summary, generatorCpuPct, generatorCpuWaitPct, cpuWaitPct, workers: engine.config.workers });
}

async function probeHeap(): Promise<HeapSample | null> {
  try {
    return await sampleHeap();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'heap probe failed; heap growth is not reported');
    return null;
  }
}

async function engineStats(engine: MediaEngine): Promise<EngineStats | null> {
  try {
    return await engine.stats();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'engine stats failed');
    return null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LoadTestError('DEADLINE', `${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface EngineTotals extends EngineCounters {
  rx: number;
  tx: number;
  legs: number;
  targetMsSum: number;
}

function engineTotals(stats: EngineStats | null): EngineTotals {
  const t: EngineTotals = {
    rx: 0,
    tx: 0,
    legs: 0,
    targetMsSum: 0,
    jitter_target_ms_avg: 0,
    rx_dropped: {},
    jitter_lost: 0,
    jitter_late: 0,
    jitter_concealed: 0,
    jitter_overflow: 0,
    jitter_accelerated: null,
    jitter_flushed: null,
    tx_errors: 0,
    tx_skipped_not_connected: 0,
    late_ticks: 0,
    skipped_ticks: 0,
    max_tick_lateness_ms: 0,
  };
  for (const shard of stats?.shards ?? []) {
    t.late_ticks += shard.lateTicks;
    t.skipped_ticks += shard.skippedTicks;
    t.max_tick_lateness_ms = Math.max(t.max_tick_lateness_ms, shard.maxTickLatenessMs);
    for (const pair of shard.pairStats) {
      for (const leg of [pair.legA, pair.legB]) {
        t.rx += leg.rxPackets;
        t.tx += leg.txPackets;
        t.tx_errors += leg.txErrors;
        t.tx_skipped_not_connected += leg.txSkippedNotConnected;
        t.jitter_lost += leg.jitter.lost;
        t.jitter_late += leg.jitter.late;
        t.jitter_concealed += leg.jitter.concealed;
        t.jitter_overflow += leg.jitter.overflow;
        t.legs++;
        t.targetMsSum += leg.jitter.targetMs;
        // Not in LegStats yet (the jitter buffer counts them): read when the engine starts reporting them.
        const extra = leg.jitter as unknown as Record<string, unknown>;
        for (const [key, field] of [['accelerated', 'jitter_accelerated'], ['flushed', 'jitter_flushed']] as const) {
          const v = extra[key];
          if (typeof v === 'number') t[field] = (t[field] ?? 0) + v;
        }
        for (const [reason, n] of Object.entries(leg.rxDropped)) t.rx_dropped[reason] = (t.rx_dropped[reason] ?? 0) + n;
      }
    }
  }
  return t;
}

function engineDelta(a: EngineTotals, b: EngineTotals): EngineTotals {
  const rx_dropped: Record<string, number> = {};
  for (const [reason, n] of Object.entries(b.rx_dropped)) {
    const d = n - (a.rx_dropped[reason] ?? 0);
    if (d !== 0) rx_dropped[reason] = d;
  }
  return {
    rx: b.rx - a.rx,
    tx: b.tx - a.tx,
    legs: b.legs,
    targetMsSum: b.targetMsSum,
    // A level, not a counter: the end value.
    jitter_target_ms_avg: b.legs > 0 ? round(b.targetMsSum / b.legs, 1) : 0,
    rx_dropped,
    jitter_lost: b.jitter_lost - a.jitter_lost,
    jitter_late: b.jitter_late - a.jitter_late,
    jitter_concealed: b.jitter_concealed - a.jitter_concealed,
    jitter_overflow: b.jitter_overflow - a.jitter_overflow,
    jitter_accelerated: b.jitter_accelerated === null ? null : b.jitter_accelerated - (a.jitter_accelerated ?? 0),
    jitter_flushed: b.jitter_flushed === null ? null : b.jitter_flushed - (a.jitter_flushed ?? 0),
    tx_errors: b.tx_errors - a.tx_errors,
    tx_skipped_not_connected: b.tx_skipped_not_connected - a.tx_skipped_not_connected,
    late_ticks: b.late_ticks - a.late_ticks,
    skipped_ticks: b.skipped_ticks - a.skipped_ticks,
    // The engine keeps a running maximum: the end value is the best we know.
    max_tick_lateness_ms: round(b.max_tick_lateness_ms),
  };
}

interface ReportInput {
  o: Resolved;
  machine: ReturnType<typeof machineInfo>;
  audioSource: 'espeak-ng' | 'tone-sweep';
  threads: number;
  start: Snapshot;
  end: Snapshot;
  cpuPct: number;
  rss: number;
  rssPeak: number;
  summary: GeneratorSummary;
  generatorCpuPct: number;
  generatorCpuWaitPct: number | null;
  cpuWaitPct: number | null;
  workers: number;
}

const MB = 1024 * 1024;

function direction(d: CoreResult['aToB']): DirectionReport {
  const h = Histogram.fromSnapshot(d.latency);
  const lost = Math.max(0, d.sent - d.received);
  return {
    sent: d.sent,
    received: d.received,
    lost,
    loss_pct: d.sent > 0 ? round((lost / d.sent) * 100, 4) : 0,
    duplicates: d.duplicates,
    latency_p50_ms: round(h.percentile(50)),
    latency_p99_ms: round(h.percentile(99)),
    latency_max_ms: round(h.max),
  };
}

interface GeneratorSummary {
  directions: { a_to_b: DirectionReport; b_to_a: DirectionReport };
  sent: number;
  received: number;
  latencyP50: number;
  latencyP99: number;
  pacingP50: number;
  pacingP99: number;
  lateP99: number;
  lateMax: number;
  skippedSends: number;
  untagged: number;
  stale: number;
  badPackets: number;
  socketErrors: number;
}

function summarizeGenerator(g: CoreResult): GeneratorSummary {
  const latency = Histogram.fromSnapshot(g.aToB.latency);
  latency.merge(g.bToA.latency);
  const pacing = Histogram.fromSnapshot(g.pacing);
  const lateness = Histogram.fromSnapshot(g.sendLateness);
  return {
    directions: { a_to_b: direction(g.aToB), b_to_a: direction(g.bToA) },
    sent: g.aToB.sent + g.bToA.sent,
    received: g.aToB.received + g.bToA.received,
    latencyP50: round(latency.percentile(50)),
    latencyP99: round(latency.percentile(99)),
    pacingP50: round(pacing.percentile(50)),
    pacingP99: round(pacing.percentile(99)),
    lateP99: round(lateness.percentile(99)),
    lateMax: round(lateness.max),
    skippedSends: g.skippedSends,
    untagged: g.untagged,
    stale: g.stale,
    badPackets: g.badPackets,
    socketErrors: g.socketErrors,
  };
}

function buildReport(x: ReportInput): LoadTestReport {
  const { o, summary: g } = x;
  const sent = g.sent;
  const received = g.received;
  const lossPct = sent > 0 ? round((Math.max(0, sent - received) / sent) * 100, 4) : 100;
  const engine = engineDelta(x.start.totals, x.end.totals);
  const heapStart = x.start.heap ? x.start.heap.totalUsedBytes / MB : null;
  const heapEnd = x.end.heap ? x.end.heap.totalUsedBytes / MB : null;
  const heapGrowth = heapStart !== null && heapEnd !== null ? heapEnd - heapStart : null;
  const udpDelta = (key: keyof UdpCounters): number | null =>
    x.start.udp && x.end.udp ? x.end.udp[key] - x.start.udp[key] : null;
  const latencyP50 = g.latencyP50;
  const pacingP99 = g.pacingP99;
  const { rx, tx, legs: _legs, targetMsSum: _targetMsSum, ...engineCounters } = engine;
  return {
    pairs: o.pairs,
    seconds: o.seconds,
    warmup_seconds: o.warmupSeconds,
    workers: x.workers,
    codec: 'ulaw',
    audio_source: x.audioSource,
    loss_pct: lossPct,
    latency_p50_ms: latencyP50,
    latency_p99_ms: g.latencyP99,
    pacing_jitter_p99_ms: pacingP99,
    pacing_jitter_p50_ms: g.pacingP50,
    cpu_pct: round(x.cpuPct, 1),
    cpu_wait_pct: x.cpuWaitPct === null ? null : round(x.cpuWaitPct, 1),
    rss_mb: round(x.rss / MB, 1),
    rss_peak_mb: round(x.rssPeak / MB, 1),
    heap_growth_mb: heapGrowth === null ? null : round(heapGrowth, 2),
    heap_start_mb: heapStart === null ? null : round(heapStart, 2),
    heap_end_mb: heapEnd === null ? null : round(heapEnd, 2),
    heap_by_thread_mb:
      x.start.heap && x.end.heap
        ? {
            main_start: round(x.start.heap.mainUsedBytes / MB, 2),
            main_end: round(x.end.heap.mainUsedBytes / MB, 2),
            workers_start: x.start.heap.workerUsedBytes.map((b) => round(b / MB, 2)),
            workers_end: x.end.heap.workerUsedBytes.map((b) => round(b / MB, 2)),
          }
        : null,
    packets_in: rx,
    packets_out: tx,
    frames_sent: sent,
    frames_received: received,
    directions: g.directions,
    engine: engineCounters,
    generator: {
      threads: x.threads,
      cpu_pct: round(x.generatorCpuPct, 1),
      cpu_wait_pct: x.generatorCpuWaitPct === null ? null : round(x.generatorCpuWaitPct, 1),
      send_late_p99_ms: g.lateP99,
      send_late_max_ms: g.lateMax,
      skipped_sends: g.skippedSends,
      untagged_frames: g.untagged,
      stale_frames: g.stale,
      bad_packets: g.badPackets,
      socket_errors: g.socketErrors,
    },
    rcvbuf_errors: udpDelta('rcvbufErrors'),
    sndbuf_errors: udpDelta('sndbufErrors'),
    machine: { ...x.machine, loadavg_1m_at_end: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
    targets: {
      loss_below_0_1_pct: lossPct < 0.1,
      pacing_jitter_p99_at_most_2_ms: pacingP99 <= 2,
      latency_p50_at_most_30_ms: latencyP50 <= 30,
      no_heap_growth: heapGrowth === null ? null : heapGrowth < HEAP_GROWTH_TOLERANCE_MB,
    },
  };
}

/** Turns the generator's once-a-second totals into progress lines. */
class ProgressTracker {
  readonly #pairs: number;
  readonly #onProgress: ((p: LoadTestProgress) => void) | undefined;
  #phase: LoadTestProgress['phase'] = 'warmup';
  #last: { at: number; p: GeneratorProgress } | null = null;

  constructor(pairs: number, onProgress: ((p: LoadTestProgress) => void) | undefined) {
    this.#pairs = pairs;
    this.#onProgress = onProgress;
  }

  onPhase: (phase: 'probe' | 'measuring' | 'draining') => void = () => {};

  onMessage(m: FromGenerator): void {
    if (m.type === 'phase') {
      if (m.phase !== 'probe') this.#phase = m.phase;
      this.onPhase(m.phase);
    }
    if (m.type !== 'progress') return;
    const last = this.#last;
    this.#last = { at: m.elapsedMs, p: m.progress };
    if (!this.#onProgress || !last) return;
    const dt = (m.elapsedMs - last.at) / 1000;
    if (dt <= 0) return;
    const p = m.progress;
    this.#onProgress({
      phase: this.#phase,
      elapsedSeconds: round(m.elapsedMs / 1000, 1),
      pairs: this.#pairs,
      ppsOut: Math.round((p.sent - last.p.sent) / dt),
      ppsIn: Math.round((p.received - last.p.received) / dt),
      lossSoFarPct: p.measuredSent > 0 ? round(((p.measuredSent - p.measuredReceived) / p.measuredSent) * 100, 3) : 0,
      generatorMaxSendLateMs: round(p.maxSendLateMs, 1),
    });
  }
}
