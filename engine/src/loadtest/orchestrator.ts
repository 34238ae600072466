import type { GeneratorCoreKind } from './native-core.js';
import type { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../common/errors.js';
import { logger } from '../common/logger.js';
import type { EngineConfigInput } from '../config/engine-config.js';
import { MediaEngine, type EngineStats } from '../engine.js';
import type { PairTranslationInput } from '../pipeline/translation/config.js';
import type { RtpPairResult } from '../worker/protocol.js';
import {
  type CoreResult,
  type FromGenerator,
  type GeneratorPairPorts,
  type GeneratorProgress,
  type Impairment,
  type WindowSample,
} from './generator-protocol.js';
import { isLoadCodecName, type LoadCodecName } from './load-codec.js';
import { LoadTestError } from './errors.js';
import { GeneratorLink } from './generator-link.js';
import { startCpuProfiling } from './cpu-profiler.js';
import { sampleHeap, type HeapSample } from './heap-probe.js';
import { Histogram } from './histogram.js';
import {
  HEAP_GROWTH_TOLERANCE_MB,
  round,
  type DirectionReport,
  type EngineCounters,
  type ImpairmentReport,
  type LoadTestReport,
  type RampReport,
  type RampStopReason,
  type TimelineSample,
} from './report.js';
import { machineInfo, readSchedTimes, readUdpCounters, schedWaitPct, type UdpCounters } from './system-counters.js';

/**
 * Runs one load test: the engine in this process (so this process's CPU and
 * RSS are the engine's), the generator in a forked child playing Asterisk for
 * every pair. Every step has a deadline, and one overall deadline kills the
 * child and fails the run with a clear message.
 */
export interface LoadTestOptions {
  /** Engine settings beyond the ones the load test chooses itself (e.g. alignMarginMs, jitter depths). */
  engine?: Pick<EngineConfigInput, 'alignMarginMs' | 'jitter' | 'scheduleSlots' | 'workerNice' | 'io'>;
  pairs: number;
  /** Measured seconds (after the warm-up). */
  seconds: number;
  /** Engine worker threads. Default: one per core. */
  workers?: number;
  /** What the generator sends and every pair opens with. Default ulaw. */
  codec?: LoadCodecName;
  /** Generator-side network impairment. Default none. */
  impairment?: Partial<Impairment>;
  /**
   * Ramp instead of a fixed load: start with `pairsPerSecond` pairs, add as
   * many every second until a 1 s window loses more than `lossPct` or its p99
   * latency passes `latencyMs`, `pairs` (the cap) is reached, or `seconds`
   * (which then bounds the ramp) runs out.
   */
  ramp?: { pairsPerSecond?: number; lossPct?: number; latencyMs?: number };
  /** Unmeasured seconds before the measured window (jitter buffers settle, JIT warms up). Default 5, ramps 2. */
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
  /** Generator cores: C processes (default when they build) or Node worker threads. */
  generatorCore?: GeneratorCoreKind;
  onProgress?: (progress: LoadTestProgress) => void;
  /** Every pair opens translated with these settings (translation-load.ts); default: plain relay. */
  translation?: PairTranslationInput;
  /**
   * Observation points: for tests (the engine and the child, to check they are
   * gone afterwards) and for translation-load.ts (the measured window's bounds;
   * `measured` runs after the generator's result, while the engine is still open).
   */
  hooks?: LoadTestHooks;
}

export interface LoadTestHooks {
  engineStarted?: (engine: MediaEngine) => void;
  generatorForked?: (child: ChildProcess) => void;
  measuring?: () => void;
  measured?: (generator: CoreResult) => Promise<void>;
}

export interface LoadTestProgress {
  phase: 'warmup' | 'measuring' | 'draining';
  /** Pairs open now (grows during a ramp). */
  elapsedSeconds: number;
  pairs: number;
  /** Packets per second the generator sent (engine in) and received (engine out) since the last line. */
  ppsOut: number;
  ppsIn: number;
  /** Measured-window loss so far; includes frames still in flight, so slightly high while running. */
  lossSoFarPct: number;
  generatorMaxSendLateMs: number;
}

export { LoadTestError, type LoadTestErrorCode } from './errors.js';

const STEP_TIMEOUT_MS = 30_000;
const OPEN_CONCURRENCY = 16;
const log = logger('loadtest');

interface ResolvedRamp {
  pairsPerSecond: number;
  lossPct: number;
  latencyMs: number;
}

interface Resolved {
  pairs: number;
  codec: LoadCodecName;
  impairment: Impairment;
  ramp: ResolvedRamp | null;
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
  generatorCore: GeneratorCoreKind | undefined;
  engine: Pick<EngineConfigInput, 'alignMarginMs' | 'jitter' | 'scheduleSlots' | 'workerNice' | 'io'>;
  translation: PairTranslationInput | undefined;
  hooks: LoadTestHooks;
}

function resolveOptions(o: LoadTestOptions): Resolved {
  const bad = (msg: string): never => {
    throw new LoadTestError('INVALID_OPTIONS', msg);
  };
  if (!Number.isInteger(o.pairs) || o.pairs < 1) bad(`pairs must be a positive integer, got ${o.pairs}`);
  if (!(o.seconds > 0) || o.seconds > 3600) bad(`seconds must be in (0, 3600], got ${o.seconds}`);
  const codec = o.codec ?? 'ulaw';
  if (!isLoadCodecName(codec)) bad(`codec must be ulaw, alaw or slin16, got ${String(o.codec)}`);
  const impairment: Impairment = { jitterMs: o.impairment?.jitterMs ?? 0, lossPct: o.impairment?.lossPct ?? 0, reorderPct: o.impairment?.reorderPct ?? 0 };
  if (!(impairment.jitterMs >= 0 && impairment.jitterMs <= 1000)) bad(`jitter must be in [0, 1000] ms, got ${impairment.jitterMs}`);
  if (!(impairment.lossPct >= 0 && impairment.lossPct <= 100)) bad(`loss must be in [0, 100] %, got ${impairment.lossPct}`);
  if (!(impairment.reorderPct >= 0 && impairment.reorderPct <= 100)) bad(`reorder must be in [0, 100] %, got ${impairment.reorderPct}`);
  let ramp: ResolvedRamp | null = null;
  if (o.ramp !== undefined) {
    ramp = { pairsPerSecond: o.ramp.pairsPerSecond ?? 10, lossPct: o.ramp.lossPct ?? 0.1, latencyMs: o.ramp.latencyMs ?? 100 };
    if (!Number.isInteger(ramp.pairsPerSecond) || ramp.pairsPerSecond < 1) bad(`ramp pairs per second must be a positive integer, got ${ramp.pairsPerSecond}`);
    if (!(ramp.lossPct >= 0)) bad(`ramp loss threshold must be ≥ 0 %, got ${ramp.lossPct}`);
    if (!(ramp.latencyMs > 0)) bad(`ramp latency threshold must be > 0 ms, got ${ramp.latencyMs}`);
  }
  const warmupSeconds = o.warmupSeconds ?? (ramp ? 2 : 5);
  if (!(warmupSeconds >= 0) || warmupSeconds > 600) bad(`warmupSeconds must be in [0, 600], got ${warmupSeconds}`);
  const portRange = o.portRange ?? { min: 10000, max: 19999 };
  if (portRange.max - portRange.min + 1 < o.pairs * 2) bad(`port range ${portRange.min}-${portRange.max} is too small for ${o.pairs} pairs`);
  const generatorThreads = o.generatorThreads ?? Math.min(2, Math.max(1, Math.ceil(o.pairs / 250)));
  if (!Number.isInteger(generatorThreads) || generatorThreads < 1 || generatorThreads > 16) bad(`generatorThreads must be 1-16, got ${generatorThreads}`);
  if (o.workers !== undefined && (!Number.isInteger(o.workers) || o.workers < 1)) bad(`workers must be a positive integer, got ${o.workers}`);
  const drainMs = o.drainMs ?? 600;
  return {
    pairs: o.pairs,
    codec,
    impairment,
    ramp,
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
    engine: o.engine ?? {},
    translation: o.translation,
    hooks: o.hooks ?? {},
    generatorCore: o.generatorCore,
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
          ...o.engine,
          ...(o.workers !== undefined ? { workers: o.workers } : {}),
          bindAddress: '127.0.0.1',
          portRange: o.portRange,
          codec: o.codec,
          socketBufferBytes: o.socketBufferBytes,
        });
        if (over) {
          await started.close();
          throw new LoadTestError('DEADLINE', 'the engine started after the load test was over');
        }
        engine = started;
        options.hooks?.engineStarted?.(started);
        const progress = new ProgressTracker(o.ramp ? Math.min(o.pairs, o.ramp.pairsPerSecond) : o.pairs, options.onProgress);
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
  const initialPairs = o.ramp ? Math.min(o.pairs, o.ramp.pairsPerSecond) : o.pairs;
  const opened: RtpPairResult[] = await openPairs(engine, o, 0, initialPairs);
  log.info({ pairs: initialPairs, workers: engine.config.workers, codec: o.codec }, 'pairs open');
  const ready = link.waitFor('ready', STEP_TIMEOUT_MS + initialPairs * 20);
  link.send({
    type: 'setup',
    pairs: opened.map((p, index) => ({ index, legA: p.legA, legB: p.legB })),
    threads: o.generatorThreads,
    socketBufferBytes: o.socketBufferBytes,
    preferTone: o.preferTone,
    codec: o.codec,
    impairment: o.impairment,
    capacityPairs: o.pairs,
    ...(o.generatorCore !== undefined ? { core: o.generatorCore } : {}),
  });
  const { ports, audio, threads } = await ready;
  await connectPairs(engine, opened, 0, ports);

  const runMs = (o.warmupSeconds + o.seconds) * 1000 + o.drainMs;
  // Only the summary outlives the result message, so the end heap probe does not measure it.
  const result = link
    .waitFor('result', STEP_TIMEOUT_MS + runMs)
    .then((m) => ({ summary: summarizeGenerator(m.result), windows: m.result.windows, cpuPct: m.cpuPct, cpuWaitPct: m.cpuWaitPct, raw: o.hooks.measured ? m.result : null }));
  // The heap probe (a full GC per thread) runs at 'probe' when the warm-up has room for it, else at 'measuring'.
  let heapStart: Promise<HeapSample | null> | null = null;
  const measuring = new Promise<void>((resolve, reject) => {
    phaseListener = (phase) => {
      if (phase === 'probe' && o.heapProbe) heapStart = probeHeap();
      if (phase === 'measuring') resolve();
    };
    result.catch(reject);
  });
  // Both sides agree on when window 0 starts, so the engine CPU samples line up with the generator's windows.
  const startAtEpochMs = performance.timeOrigin + performance.now() + START_LEAD_MS;
  const cpuSampler = new CpuWindowSampler(startAtEpochMs - performance.timeOrigin);
  const schedule = { warmupMs: o.warmupSeconds * 1000, measureMs: o.seconds * 1000, drainMs: o.drainMs };
  link.send({ type: 'start', schedule, startAtEpochMs });
  log.info({ pairs: initialPairs, seconds: o.seconds, warmupSeconds: o.warmupSeconds, audio: audio.source, generatorThreads: threads, ramp: o.ramp !== null }, 'load test running');

  let rampRun: RampController | null = null;
  try {
    await withTimeout(measuring, STEP_TIMEOUT_MS + o.warmupSeconds * 1000, 'the measured window did not start');
    const draining = link.waitFor('phase', STEP_TIMEOUT_MS + o.seconds * 1000);
    if (o.ramp) {
      rampRun = new RampController(engine, link, o, o.ramp, opened.length, progress);
      rampRun.start(draining.then(() => undefined));
    }
    const cpu0 = process.cpuUsage();
    const sched0 = readSchedTimes();
    const t0 = performance.now();
    // Reduced at once: a stats object of every pair must not sit in the heap the end probe measures.
    const startTotals = engineTotals(await engineStats(engine));
    const startUdp = readUdpCounters();
    o.hooks.measuring?.();
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
    let windows: WindowSample[];
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
      const generator = await result;
      ({ summary, windows, cpuPct: generatorCpuPct, cpuWaitPct: generatorCpuWaitPct } = generator);
      if (generator.raw !== null) await o.hooks.measured?.(generator.raw);
      cpuSampler.stop();
      await rampRun?.stopped();
    } finally {
      clearInterval(rssTimer);
    }
    const start: Snapshot = { totals: startTotals, udp: startUdp, heap: await heapStart };
    const endStats = await engineStats(engine);
    const endTotals = engineTotals(endStats);
    const endUdp = readUdpCounters();
    const end: Snapshot = { totals: endTotals, udp: endUdp, heap: o.heapProbe ? await probeHeap() : null };
    const timeline = buildTimeline(windows, cpuSampler.samples);
    return buildReport({
      o,
      machine,
      audioSource: audio.source,
      threads,
      start,
      end,
      cpuPct,
      rss,
      rssPeak,
      summary,
      generatorCpuPct,
      generatorCpuWaitPct,
      cpuWaitPct,
      workers: engine.config.workers,
      workerNice: endStats?.shards.map((shard) => shard.priority.applied) ?? [],
      io: engine.config.io === 'native' ? 'native' : 'dgram',
      timeline,
      finalPairs: rampRun?.pairs ?? o.pairs,
      ramp: rampRun && o.ramp ? rampReport(o.ramp, o.warmupSeconds, timeline, rampRun.reason ?? 'time', rampRun.pairs) : null,
    });
  } finally {
    cpuSampler.stop();
    rampRun?.halt();
  }
}

/** Opens pairs first..first+count-1 on the engine, with the run's codec (and translation, if any). */
function openPairs(engine: MediaEngine, o: Pick<Resolved, 'codec' | 'translation'>, first: number, count: number): Promise<RtpPairResult[]> {
  const indices = Array.from({ length: count }, (_, i) => first + i);
  const { codec, translation } = o;
  return mapLimit(indices, OPEN_CONCURRENCY, (i) =>
    engine.openPair({
      pairId: `lt_${String(i).padStart(5, '0')}`,
      extA: String(7000 + 2 * i),
      extB: String(7001 + 2 * i),
      codec,
      ...(translation !== undefined ? { translation } : {}),
    }),
  );
}

/** Points each engine leg at the generator socket that plays its Asterisk side. */
async function connectPairs(engine: MediaEngine, opened: readonly RtpPairResult[], first: number, ports: readonly GeneratorPairPorts[]): Promise<void> {
  const byIndex = new Map<number, GeneratorPairPorts>(ports.map((p) => [p.index, p]));
  await mapLimit(opened, OPEN_CONCURRENCY * 2, async (pair, i) => {
    const p = byIndex.get(first + i);
    if (!p) throw new LoadTestError('GENERATOR_FAILED', `generator opened no sockets for pair ${first + i}`);
    await engine.setRemote(pair.pairId, 'A', { address: '127.0.0.1', port: p.portA });
    await engine.setRemote(pair.pairId, 'B', { address: '127.0.0.1', port: p.portB });
  });
}

const START_LEAD_MS = 300;

/** Engine-process CPU per 1 s window, on the generator's window grid (this process's clock). */
class CpuWindowSampler {
  readonly samples = new Map<number, number>();
  readonly #startAt: number;
  #index = 0;
  #last: NodeJS.CpuUsage | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(startAt: number) {
    this.#startAt = startAt;
    this.#timer = setTimeout(this.#tick, Math.max(0, startAt - performance.now()));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  readonly #tick = (): void => {
    this.#timer = null;
    if (this.#stopped) return;
    const usage = process.cpuUsage();
    if (this.#last !== null) {
      const d = (usage.user - this.#last.user + usage.system - this.#last.system) / 1000;
      this.samples.set(this.#index, round((d / 1000) * 100, 1));
      this.#index++;
    }
    this.#last = usage;
    const next = this.#startAt + (this.#index + 1) * 1000;
    this.#timer = setTimeout(this.#tick, Math.max(0, next - performance.now()));
  };
}

/** One sample per generator window, with the engine CPU of the same second. */
export function buildTimeline(windows: readonly WindowSample[], cpu: ReadonlyMap<number, number>): TimelineSample[] {
  return windows.map((w) => {
    const h = Histogram.fromSnapshot(w.latency);
    return {
      t: w.index + 1,
      pairs: w.pairs,
      pps_in: w.packets,
      pps_out: w.arrivals,
      loss_pct: w.sent > 0 ? round((Math.max(0, w.sent - w.received) / w.sent) * 100, 3) : 0,
      cpu_pct: cpu.get(w.index) ?? null,
      latency_p99_ms: w.received > 0 ? round(h.percentile(99), 1) : null,
    };
  });
}

/** Whether a 1 s window met the ramp's thresholds. */
function windowPasses(ramp: ResolvedRamp, s: TimelineSample): boolean {
  return s.loss_pct <= ramp.lossPct && s.latency_p99_ms !== null && s.latency_p99_ms <= ramp.latencyMs;
}

/**
 * The knee: walking the measured windows in order, the pair count of the last
 * window that met both thresholds before the first that did not.
 */
export function findKnee(ramp: { lossPct: number; latencyMs: number }, timeline: readonly TimelineSample[], warmupSeconds: number): number | null {
  let knee: number | null = null;
  for (const s of timeline) {
    // Warm-up, and seconds with nothing measured (every pair still settling), say nothing.
    if (s.t <= warmupSeconds || s.pairs === 0 || (s.latency_p99_ms === null && s.loss_pct === 0)) continue;
    if (!windowPasses({ pairsPerSecond: 0, ...ramp }, s)) break;
    knee = knee === null ? s.pairs : Math.max(knee, s.pairs);
  }
  return knee;
}

function rampReport(ramp: ResolvedRamp, warmupSeconds: number, timeline: readonly TimelineSample[], reason: RampStopReason, maxPairs: number): RampReport {
  return {
    pairs_per_second: ramp.pairsPerSecond,
    loss_threshold_pct: ramp.lossPct,
    latency_threshold_ms: ramp.latencyMs,
    knee_pairs: findKnee(ramp, timeline, warmupSeconds),
    max_pairs: maxPairs,
    stopped_because: reason,
  };
}

/**
 * Adds pairs once a second while the measured window runs, watches the
 * generator's settled windows and ends the run (generator 'finish') at the
 * first window over a threshold, or once a window at the cap has passed.
 */
class RampController {
  readonly #engine: MediaEngine;
  readonly #link: GeneratorLink;
  readonly #o: Resolved;
  readonly #ramp: ResolvedRamp;
  readonly #progress: ProgressTracker;
  #pairs: number;
  #reason: RampStopReason | null = null;
  #halted = false;
  #loop: Promise<void> = Promise.resolve();
  #wake: (() => void) | null = null;

  constructor(engine: MediaEngine, link: GeneratorLink, o: Resolved, ramp: ResolvedRamp, pairs: number, progress: ProgressTracker) {
    this.#engine = engine;
    this.#link = link;
    this.#o = o;
    this.#ramp = ramp;
    this.#pairs = pairs;
    this.#progress = progress;
  }

  get pairs(): number {
    return this.#pairs;
  }

  get reason(): RampStopReason | null {
    return this.#reason;
  }

  start(draining: Promise<void>): void {
    this.#progress.onWindow = (w) => this.#onWindow(w);
    void draining.then(
      () => this.#stop('time'),
      () => this.halt(),
    );
    this.#loop = this.#run().catch((err: unknown) => {
      log.error({ err: errorMessage(err) }, 'the ramp failed to add pairs; ending the run');
      this.#stop('error');
    });
  }

  /** Resolves once the add loop has returned. */
  stopped(): Promise<void> {
    return this.#loop;
  }

  halt(): void {
    this.#halted = true;
    this.#progress.onWindow = () => {};
    this.#wake?.();
  }

  #stop(reason: RampStopReason): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    log.info({ reason, pairs: this.#pairs }, 'ramp stopping');
    // 'time': the generator ended the window itself; otherwise it is told to.
    if (reason !== 'time') {
      try {
        this.#link.send({ type: 'finish' });
      } catch {
        // The generator is gone: the run fails on its own with that error.
      }
    }
    this.halt();
  }

  #onWindow(w: WindowSample): void {
    if (this.#reason !== null) return;
    // Warm-up windows do not count (the jitter buffers are still settling).
    if (w.index + 1 <= this.#o.warmupSeconds || w.sent === 0) return;
    const [sample] = buildTimeline([w], new Map());
    if (sample === undefined) return;
    if (sample.loss_pct > this.#ramp.lossPct) this.#stop('loss');
    else if (sample.latency_p99_ms === null || sample.latency_p99_ms > this.#ramp.latencyMs) this.#stop('latency');
    else if (w.pairs >= this.#o.pairs) this.#stop('cap');
  }

  async #run(): Promise<void> {
    while (!this.#halted && this.#pairs < this.#o.pairs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = null;
          resolve();
        }, 1000);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = null;
          resolve();
        };
      });
      if (this.#halted) return;
      const count = Math.min(this.#ramp.pairsPerSecond, this.#o.pairs - this.#pairs);
      const first = this.#pairs;
      const opened = await openPairs(this.#engine, this.#o, first, count);
      const added = this.#link.waitFor('pairsAdded', STEP_TIMEOUT_MS);
      this.#link.send({ type: 'addPairs', pairs: opened.map((p, i) => ({ index: first + i, legA: p.legA, legB: p.legB })) });
      const { ports } = await added;
      await connectPairs(this.#engine, opened, first, ports);
      this.#pairs = first + count;
      this.#progress.pairs = this.#pairs;
    }
  }
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
  /** Each worker thread's nice value as applied (what the run really measured). */
  workerNice: number[];
  /** How the engine's RTP legs reached the network (its `io`, resolved at start). */
  io: 'native' | 'dgram';
  timeline: TimelineSample[];
  finalPairs: number;
  ramp: RampReport | null;
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
    impairment_dropped: d.impairmentDropped,
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
  dropped: number;
  reordered: number;
  delayed: number;
  delayOverflow: number;
  latencyHistogram: LoadTestReport['latency_histogram'];
}

/** Re-buckets a fine latency histogram into at most ~120 bars covering everything up to p99.9 (×1.25). */
export function coarseLatencyHistogram(h: Histogram): LoadTestReport['latency_histogram'] {
  const snap = h.snapshot();
  if (snap.count === 0) return { bucket_ms: 1, buckets: [], overflow: 0 };
  const top = Math.max(1, h.percentile(99.9) * 1.25);
  const steps = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100];
  const width = steps.find((w) => top / w <= 120) ?? 200;
  const limit = Math.ceil(top / width) * width;
  const counts = new Map<number, number>();
  let overflow = snap.overflow;
  for (const [index, count] of snap.buckets) {
    const lower = index * snap.bucketWidth;
    if (lower >= limit) {
      overflow += count;
      continue;
    }
    const b = Math.floor(lower / width);
    counts.set(b, (counts.get(b) ?? 0) + count);
  }
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([b, c]): [number, number] => [round(b * width, 3), c]);
  return { bucket_ms: width, buckets, overflow };
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
    dropped: g.aToB.impairmentDropped + g.bToA.impairmentDropped,
    reordered: g.reordered,
    delayed: g.delayed,
    delayOverflow: g.delayOverflow,
    latencyHistogram: coarseLatencyHistogram(latency),
  };
}

function impairmentReport(i: Impairment, g: GeneratorSummary): ImpairmentReport {
  const scheduled = g.sent + g.dropped;
  return {
    applied: i.jitterMs > 0 || i.lossPct > 0 || i.reorderPct > 0,
    jitter_ms: i.jitterMs,
    loss_pct: i.lossPct,
    reorder_pct: i.reorderPct,
    dropped_frames: g.dropped,
    reordered_packets: g.reordered,
    delayed_packets: g.delayed,
    delay_overflow: g.delayOverflow,
    end_to_end_loss_pct: scheduled > 0 ? round((Math.max(0, scheduled - g.received) / scheduled) * 100, 4) : 0,
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
    pairs: x.finalPairs,
    seconds: o.seconds,
    warmup_seconds: o.warmupSeconds,
    workers: x.workers,
    worker_nice: x.workerNice,
    io: x.io,
    codec: o.codec,
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
    impairment: impairmentReport(o.impairment, g),
    latency_histogram: g.latencyHistogram,
    timeline: x.timeline,
    ramp: x.ramp,
  };
}

/** Turns the generator's once-a-second totals into progress lines. */
class ProgressTracker {
  /** Pairs open now: a ramp raises it. */
  pairs: number;
  readonly #onProgress: ((p: LoadTestProgress) => void) | undefined;
  #phase: LoadTestProgress['phase'] = 'warmup';
  #last: { at: number; p: GeneratorProgress } | null = null;

  constructor(pairs: number, onProgress: ((p: LoadTestProgress) => void) | undefined) {
    this.pairs = pairs;
    this.#onProgress = onProgress;
  }

  onPhase: (phase: 'probe' | 'measuring' | 'draining') => void = () => {};
  onWindow: (window: WindowSample) => void = () => {};

  onMessage(m: FromGenerator): void {
    if (m.type === 'phase') {
      if (m.phase !== 'probe') this.#phase = m.phase;
      this.onPhase(m.phase);
    }
    if (m.type === 'window') this.onWindow(m.window);
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
      pairs: this.pairs,
      ppsOut: Math.round((p.sent - last.p.sent) / dt),
      ppsIn: Math.round((p.received - last.p.received) / dt),
      lossSoFarPct: p.measuredSent > 0 ? round(((p.measuredSent - p.measuredReceived) / p.measuredSent) * 100, 3) : 0,
      generatorMaxSendLateMs: round(p.maxSendLateMs, 1),
    });
  }
}
