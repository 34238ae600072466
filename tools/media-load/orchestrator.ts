import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { MediaEngine } from '../../engine/src/engine.js';
import type { RtpPairResult } from '../../engine/src/worker/protocol.js';
import type { WindowSample } from './generator-protocol.js';
import { LoadTestError } from './errors.js';
import { GeneratorLink } from './generator-link.js';
import { startCpuProfiling } from './cpu-profiler.js';
import { CpuWindowSampler, START_LEAD_MS } from './cpu-window-sampler.js';
import { engineStats, engineTotals } from './engine-totals.js';
import { summarizeGenerator, type GeneratorSummary } from './generator-summary.js';
import { sampleHeap, type HeapSample } from './heap-probe.js';
import { resolveOptions, STEP_TIMEOUT_MS, type LoadTestOptions, type Resolved } from './load-options.js';
import { connectPairs, openPairs } from './pair-setup.js';
import { ProgressTracker } from './progress-tracker.js';
import { RampController, rampReport } from './ramp-controller.js';
import { buildReport, type Snapshot } from './report-builder.js';
import type { LoadTestReport } from './report.js';
import { machineInfo, readSchedTimes, readUdpCounters, schedWaitPct } from './system-counters.js';
import { buildTimeline } from './timeline.js';

export type { LoadTestOptions, LoadTestHooks, LoadTestProgress } from './load-options.js';
export { LoadTestError, type LoadTestErrorCode } from './errors.js';

const log = logger('loadtest');

/**
 * Runs one load test: the engine in this process (so this process's CPU and
 * RSS are the engine's), the generator in a forked child playing Asterisk for
 * every pair. Every step has a deadline, and one overall deadline kills the
 * child and fails the run with a clear message. This module drives the run;
 * options, pair setup, ramp, CPU sampling, aggregation, the report and progress
 * lines each live in their own module beside it.
 */
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
    ...(o.conversation !== undefined ? { conversation: o.conversation } : {}),
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

async function probeHeap(): Promise<HeapSample | null> {
  try {
    return await sampleHeap();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'heap probe failed; heap growth is not reported');
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
