import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { latencyHistogram, machineInfo, type MachineInfo } from '../media-load/index.js';
import { AsteriskSimulator, tone, type EndpointConfig } from '../asterisk-simulator/ari/index.js';
import { AriServerMeter, type AriLoadSnapshot } from './ari-meter.js';
import { CallTracker, type CallRecord } from './call-tracker.js';
import { CALLER_TONE_HZ, LEG_B_TONE_HZ, VoicedProbe, heardMirroredTones } from './heard-audio.js';
import { mainThreadUsage, readMainThreadTimes } from './main-thread.js';
import { machineBusyPct, readMachineTimes } from './process-stats.js';
import { SETUP_STEPS, SetupObserver, type SetupStep } from './setup-observer.js';
import { BASE_EXTENSION, ChildTandem, InProcessTandem, deleteRedisPrefix, type Leftovers, type TandemUnderTest } from './tandem-under-test.js';
import { parseViaAriConfig, type ViaAriConfig, type ViaAriConfigInput } from './via-ari-config.js';
import { latency, round, type AudioMismatch, type LatencySummary, type ViaAriReport } from './via-ari-report.js';

export type { Leftovers, TandemCpu } from './tandem-under-test.js';
export type { AudioMismatch, LatencySummary, ViaAriReport } from './via-ari-report.js';

const log = logger('control.loadtest.via-ari');

/** Slack on top of the planned run before the deadline stops it. */
const DEADLINE_SLACK_MS = 15_000;

export interface ViaAriProgress {
  elapsedSeconds: number;
  placed: number;
  setUp: number;
  failed: number;
  rejected: number;
  inProgress: number;
}

export interface ViaAriRunOptions extends ViaAriConfigInput {
  onProgress?: (p: ViaAriProgress) => void;
}

const sleep = (ms: number, timers: Set<NodeJS.Timeout>): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, Math.max(0, ms));
    timers.add(t);
  });

/**
 * `tandem loadtest --via-ari`: an Asterisk simulator with answering pair
 * endpoints, a whole Tandem against it (by default `tandem start` in its own
 * process, as deployed; or a TandemNode on this event loop), and callers placed
 * at a fixed rate with bounded concurrency, each hanging up after the hold.
 * Measures call setup end to end (see CallTracker for the exact definition) and
 * step by step as the simulator saw it, rejections and failures, whether
 * everything was released, CPU of each process, and the ARI session high-water
 * mark against the simulated `sessionlimit`. Always stops by itself: a deadline
 * derived from the plan ends the run however Tandem behaves.
 */
export async function runViaAriLoadTest(options: ViaAriRunOptions = {}): Promise<ViaAriReport> {
  const { onProgress, ...input } = options;
  const config = parseViaAriConfig(input);
  const machine = machineInfo();
  const timers = new Set<NodeJS.Timeout>();
  const password = randomBytes(12).toString('hex');
  const redisPrefix = config.redisUrl === undefined ? null : `tandem:loadtest:${randomBytes(6).toString('hex')}:`;
  const endpoints: Record<string, EndpointConfig> = {};
  for (let i = 0; i < config.poolSize; i++) {
    endpoints[String(BASE_EXTENSION + 1 + i * 2)] = { behaviour: 'answer', answerAfterMs: config.ringMs, audio: tone(LEG_B_TONE_HZ) };
  }
  const sim = await AsteriskSimulator.start({
    username: 'tandem',
    password,
    sessionLimit: config.sessionLimit,
    endpoints,
    // A second tells the tones apart; bounds memory and GC, as every recording is kept (below).
    maxHeardSeconds: 1,
    // Tandem names leg B after its pair (chan_pair_001_B), so ids come back. The
    // simulator retires ended phones by id and, once its retention overflows,
    // drops the live phone that reuses an id (it stops speaking and hearing).
    // Retaining every phone of the run avoids that.
    retainEndedPhones: config.calls * 2 + 16,
    // Nothing reads the simulator's event log here: not keeping it spares memory and GC.
    recordEvents: false,
    ...(config.deleteDelayMs !== 0 || config.deleteDropRate > 0 ? { deleteFaults: { delayMs: config.deleteDelayMs, dropRate: config.deleteDropRate } } : {}),
  });
  let meter: AriServerMeter | null = null;
  let tandem: TandemUnderTest | null = null;
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  try {
    const observer = new SetupObserver({ media: (channelId) => sim.mediaStats(channelId) });
    meter = new AriServerMeter(Number(new URL(sim.ariUrl).port), { onServed: (r) => observer.served(r) });
    tandem =
      config.processMode === 'in-process'
        ? await InProcessTandem.start(config, sim, password, redisPrefix)
        : await ChildTandem.start(config, sim, password, redisPrefix);
    // ari-client's connect downloads the API description over parallel
    // connections outside Tandem's request bound: reported apart from the calls.
    const atConnect = meter.snapshot();
    meter.resetPeaks();
    observer.resetOps();
    loopDelay.enable();
    return await drive({ config, sim, tandem, meter, observer, atConnect, timers, loopDelay, machine, redisPrefix, onProgress });
  } finally {
    loopDelay.disable();
    for (const t of timers) clearTimeout(t);
    timers.clear();
    if (tandem) await tandem.close().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping Tandem failed'));
    meter?.close();
    await sim.close();
    if (config.redisUrl !== undefined && redisPrefix !== null) {
      await deleteRedisPrefix(config.redisUrl, redisPrefix).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'Redis cleanup failed'));
    }
  }
}

interface DriveContext {
  config: ViaAriConfig;
  sim: AsteriskSimulator;
  tandem: TandemUnderTest;
  meter: AriServerMeter;
  observer: SetupObserver;
  atConnect: AriLoadSnapshot;
  timers: Set<NodeJS.Timeout>;
  loopDelay: ReturnType<typeof monitorEventLoopDelay>;
  machine: MachineInfo;
  redisPrefix: string | null;
  onProgress: ((p: ViaAriProgress) => void) | undefined;
}

async function drive(ctx: DriveContext): Promise<ViaAriReport> {
  const { config, sim, tandem, meter, observer, atConnect, timers, loopDelay, machine, redisPrefix, onProgress } = ctx;
  const now = (): number => performance.now();
  const holdMs = config.holdSeconds * 1000;
  const holdFromSetUp = config.holdFrom === 'set-up';
  /** Hangs the caller up `ms` from now (the run's timers, cleared when it ends), unless `unless` says otherwise then. */
  const hangUpIn = (record: CallRecord, ms: number, unless: (r: CallRecord) => boolean = () => false): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!unless(record)) hangUp(record);
    }, ms);
    timers.add(t);
  };
  const tracker = new CallTracker({
    probe: new VoicedProbe((channelId) => sim.heard(channelId)),
    now,
    setupTimeoutMs: holdFromSetUp ? config.setupTimeoutMs : Math.min(config.setupTimeoutMs, holdMs),
    onSetUp: (record) => {
      if (holdFromSetUp) hangUpIn(record, holdMs);
      if (record.pairId !== null) observer.callSetUp(record.pairId, record.placedAt);
      const second = Math.floor((record.placedAt - started) / 1000);
      const done = Math.max(record.callerHeardAt ?? NaN, record.legBHeardAt ?? NaN);
      let bucket = bySecond.get(second);
      if (!bucket) bySecond.set(second, (bucket = []));
      bucket.push(done - record.placedAt);
    },
  });
  // Setup times by the second the call was placed in: warm-up, stalls and drift show here.
  const bySecond = new Map<number, number[]>();
  let audioOk = 0;
  let audioWrong = 0;
  const wrongExamples: AudioMismatch[] = [];
  let stopped = false;
  let stoppedByDeadline = false;
  let tandemExitedEarly = false;

  const cpuStart = process.cpuUsage();
  const mainStart = readMainThreadTimes();
  let started = now();
  const machineStart = readMachineTimes();
  tandem.markCpu();
  started = now();
  const callerChannels = new Map<string, string>();
  tandem.attach(tracker, observer, (callerNumber) => callerChannels.get(callerNumber));

  const poll = setInterval(() => {
    tandem.poll(tracker);
    const t = now();
    for (const record of tracker.pending()) if (record.pairId !== null) observer.pollMedia(record.pairId, t);
    tracker.poll();
    if (!tandem.alive && !stopped) {
      stopped = true;
      tandemExitedEarly = true;
    }
  }, config.pollIntervalMs);
  const progress = onProgress
    ? setInterval(() => {
        const s = tracker.summary();
        onProgress({ elapsedSeconds: round((now() - started) / 1000, 1), placed: s.placed, setUp: s.setUp, failed: s.failed, rejected: s.rejected, inProgress: tracker.inProgress });
      }, 1000)
    : null;

  const hangUp = (record: CallRecord): void => {
    if (record.ended) return;
    tracker.hangingUp(record);
    if (record.outcome === 'set-up' && record.legBId !== null) {
      const { ok, callerHearsHz: callerHears, legBHearsHz: legBHears } = heardMirroredTones((channelId) => sim.heard(channelId), record.channelId, record.legBId);
      if (ok) audioOk++;
      else {
        audioWrong++;
        if (wrongExamples.length < 10) wrongExamples.push({ pair_id: record.pairId ?? '?', caller_hears_hz: round(callerHears), legb_hears_hz: round(legBHears) });
        log.debug({ pairId: record.pairId, callerHears: round(callerHears), legBHears: round(legBHears) }, 'a call heard the wrong audio');
      }
    }
    tracker.markEnded(record);
    if (!sim.closed) sim.hangup(record.channelId);
  };

  const planMs = (config.calls / config.ratePerSecond) * 1000 + holdMs + (holdFromSetUp ? config.setupTimeoutMs : 0);
  const deadline = setTimeout(() => {
    stopped = true;
    stoppedByDeadline = true;
  }, planMs + config.teardownTimeoutMs + DEADLINE_SLACK_MS);
  timers.add(deadline);

  const interval = 1000 / config.ratePerSecond;
  let lastPlacedAt = started;
  try {
    for (let i = 0; i < config.calls && !stopped; i++) {
      await sleep(started + i * interval - now(), timers);
      while (tracker.inProgress >= config.maxConcurrent && !stopped) await sleep(2, timers);
      if (stopped) break;
      const placedAt = now();
      const callerNumber = `9${String(i).padStart(5, '0')}`;
      const call = sim.placeCall({ callerNumber, audio: tone(CALLER_TONE_HZ) });
      lastPlacedAt = placedAt;
      const record = tracker.add(call.channelId, placedAt);
      callerChannels.set(callerNumber, call.channelId);
      if (!call.enteredStasis) {
        tracker.notInStasis(record);
        continue;
      }
      // Counted from set-up, the hold starts in onSetUp; a call never set up is hung up at its setup timeout.
      if (holdFromSetUp) hangUpIn(record, config.setupTimeoutMs, (r) => r.outcome === 'set-up');
      else hangUpIn(record, holdMs);
    }
    while (tracker.inProgress > 0 && !stopped) await sleep(20, timers);
  } finally {
    clearInterval(poll);
    if (progress) clearInterval(progress);
  }
  if (stopped) {
    for (const record of tracker.records()) {
      tracker.abandon(record);
      hangUp(record);
    }
  }
  const lastHangupAt = now();
  const placementSeconds = (lastPlacedAt - started) / 1000;

  // Everything a call created must go: Asterisk's channels and bridges, leases, Tandem's pairs, engine sockets.
  // pairs and engine_pairs are not observable from outside a child (null); leases and sockets are, and must be 0.
  const isClean = (l: Leftovers): boolean =>
    l.channels === 0 && l.bridges === 0 && l.leases === 0 && l.engine_sockets === 0 && (l.pairs ?? 0) === 0 && (l.engine_pairs ?? 0) === 0;
  let left = await tandem.leftovers(sim);
  let teardownMs: number | null = null;
  const teardownDeadline = now() + config.teardownTimeoutMs;
  while (!isClean(left) && now() < teardownDeadline && tandem.alive) {
    await sleep(50, timers);
    left = await tandem.leftovers(sim);
  }
  if (isClean(left)) teardownMs = round(now() - lastHangupAt, 1);

  const wallMs = now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const main = mainThreadUsage(mainStart, readMainThreadTimes(), wallMs);
  const engineCpuPct = tandem.engineCpuPct();
  const tandemCpu = tandem.processCpu(wallMs);
  const machineCpuPct = machineBusyPct(machineStart, readMachineTimes(), wallMs);
  const processCpuPct = round(((cpu.user + cpu.system) / 1000 / wallMs) * 100, 1);
  const ari = meter.snapshot();
  const faults = sim.deleteFaultCounts;
  const ariOps = observer.opStats();
  const tandemExit = await tandem.stop();
  clearTimeout(deadline);
  timers.delete(deadline);

  const s = tracker.summary();
  const setup = latency(s.setup);
  const steps = {} as Record<SetupStep, LatencySummary>;
  for (const step of SETUP_STEPS) steps[step] = latency(observer.stepHistograms().get(step) ?? latencyHistogram());
  const requests = ari.requests - atConnect.requests;
  const inProcess = tandem.mode === 'in-process';
  const report: ViaAriReport = {
    mode: 'via-ari',
    process_mode: tandem.mode,
    tandem_command: tandem.command,
    calls: config.calls,
    placed: s.placed,
    rate_per_s: config.ratePerSecond,
    achieved_rate_per_s: placementSeconds > 0 ? round((s.placed - 1) / placementSeconds) : s.placed,
    hold_s: config.holdSeconds,
    ring_ms: config.ringMs,
    max_concurrent: config.maxConcurrent,
    pool_size: config.poolSize,
    redis_url: config.redisUrl ?? null,
    redis_key_prefix: redisPrefix,
    set_up: s.setUp,
    failed: s.failed + s.pending,
    rejected: s.rejected,
    failures: s.failures,
    rejections: s.rejections,
    early_teardowns: s.earlyTeardowns,
    audio_ok: audioOk,
    audio_wrong: audioWrong,
    audio_wrong_examples: wrongExamples,
    setup_p50_ms: setup.p50_ms,
    setup_p99_ms: setup.p99_ms,
    setup_max_ms: setup.max_ms,
    setup_control: latency(s.control),
    setup_media: latency(s.media),
    setup_tandem_pair: latency(s.tandemSetup),
    setup_steps: steps,
    setup_by_second: [...bySecond.entries()]
      .sort(([a], [b]) => a - b)
      .map(([second, times]) => {
        const sorted = times.sort((x, y) => x - y);
        return { second, calls: sorted.length, p50_ms: round(sorted[Math.ceil(sorted.length / 2) - 1] ?? NaN), max_ms: round(sorted.at(-1) ?? NaN) };
      }),
    poll_interval_ms: config.pollIntervalMs,
    leftovers: left,
    delete_faults: { delayed: faults.delayed, dropped_kept: faults.droppedKept, dropped_deleted: faults.droppedDeleted },
    teardown_complete: isClean(left) && !tandemExitedEarly,
    teardown_ms: teardownMs,
    tandem_exit: tandemExit,
    tandem_exited_early: tandemExitedEarly,
    tandem_warnings: tandem.warnings,
    ari_max_inflight: inProcess ? ari.maxInflightRequests : null,
    ari_max_inflight_server: ari.maxInflightServer,
    ari_max_connections: ari.maxConnections,
    ari_requests: requests,
    ari_requests_per_call: s.placed > 0 ? round(requests / s.placed, 1) : null,
    ari_request_p50_ms: inProcess && ari.requestP50Ms !== null ? round(ari.requestP50Ms) : null,
    ari_request_p99_ms: inProcess && ari.requestP99Ms !== null ? round(ari.requestP99Ms) : null,
    ari_ops: ariOps,
    ari_connect_max_inflight: inProcess ? atConnect.maxInflightRequests : null,
    ari_connect_max_connections: atConnect.maxConnections,
    session_limit: config.sessionLimit,
    ari_request_bound: tandem.ariBound,
    engine_workers: config.workers,
    engine_cpu_pct: engineCpuPct,
    tandem_cpu: tandemCpu,
    process_cpu_pct: processCpuPct,
    machine_cpu_pct: machineCpuPct,
    other_processes_cpu_pct: machineCpuPct === null ? null : round(Math.max(0, machineCpuPct - processCpuPct - (tandemCpu?.cpu_pct ?? 0)), 1),
    main_thread_cpu_pct: main.cpuPct,
    main_thread_runqueue_wait_pct: main.waitPct,
    event_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6),
    event_loop_delay_max_ms: round(loopDelay.max / 1e6),
    duration_s: round(wallMs / 1000, 1),
    stopped_by_deadline: stoppedByDeadline,
    machine,
  };
  log.info({ placed: report.placed, setUp: report.set_up, failed: report.failed, rejected: report.rejected, p99: report.setup_p99_ms }, 'via-ARI load test finished');
  return report;
}
