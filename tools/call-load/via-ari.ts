import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { latencyHistogram, machineInfo, type Histogram, type MachineInfo } from '../media-load/index.js';
import { AsteriskSimulator, dominantFrequency, rms, tone, type EndpointConfig, type HeardChunk } from '../asterisk-simulator/ari/index.js';
import { AriServerMeter, type AriLoadSnapshot } from './ari-meter.js';
import { CallTracker, type CallRecord, type PhoneProbe } from './call-tracker.js';
import { mainThreadUsage, readMainThreadTimes } from './main-thread.js';
import { machineBusyPct, readMachineTimes } from './process-stats.js';
import { SETUP_STEPS, SetupObserver, type AriOp, type AriOpStats, type SetupStep } from './setup-observer.js';
import type { TandemExit } from './tandem-process.js';
import { BASE_EXTENSION, ChildTandem, InProcessTandem, deleteRedisPrefix, type Leftovers, type TandemCpu, type TandemUnderTest } from './tandem-under-test.js';
import { parseViaAriConfig, type ViaAriConfig, type ViaAriConfigInput } from './via-ari-config.js';

export type { Leftovers, TandemCpu } from './tandem-under-test.js';

const log = logger('control.loadtest.via-ari');

/** The caller's phone says this; leg B's phones say LEG_B_TONE_HZ. Mirrored, each hears the other. */
const CALLER_TONE_HZ = 440;
const LEG_B_TONE_HZ = 880;
/** A heard recording whose zero-crossing frequency is this close to the other party's tone is the right audio. */
const AUDIO_TOLERANCE_HZ = 40;
/** Slack on top of the planned run before the deadline stops it. */
const DEADLINE_SLACK_MS = 15_000;

export interface LatencySummary {
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface AudioMismatch {
  pair_id: string;
  caller_hears_hz: number;
  legb_hears_hz: number;
}

/** The run's figures; the JSON written by `--json` is exactly this object. */
export interface ViaAriReport {
  mode: 'via-ari';
  /** Where Tandem ran: `tandem start` as its own process, or on the driver's event loop. */
  process_mode: 'node-process' | 'in-process';
  /** The `tandem start` command line (node-process). */
  tandem_command: string | null;
  calls: number;
  placed: number;
  rate_per_s: number;
  achieved_rate_per_s: number;
  hold_s: number;
  ring_ms: number;
  max_concurrent: number;
  pool_size: number;
  /** Pairs kept in Redis (its URL) or in memory (null). */
  redis_url: string | null;
  /** The run's own Redis key prefix (its keys are deleted at the end). */
  redis_key_prefix: string | null;
  set_up: number;
  failed: number;
  rejected: number;
  failures: Record<string, number>;
  rejections: Record<string, number>;
  /** Set-up pairs Tandem tore down before the caller hung up, by reason. */
  early_teardowns: Record<string, number>;
  /** Set-up calls whose phones heard the other party's tone (checked just before hangup). */
  audio_ok: number;
  audio_wrong: number;
  /** Up to 10 calls that heard something else: the zero-crossing frequency each phone heard. */
  audio_wrong_examples: AudioMismatch[];
  /** Caller's StasisStart → both phones heard their first audible frame through the engine (CallTracker). */
  setup_p50_ms: number | null;
  setup_p99_ms: number | null;
  setup_max_ms: number | null;
  /**
   * StasisStart → the media path bridged (caller + externalMedia A, leg B + externalMedia B): the ARI part.
   * In-process: Tandem's `pairactive`; node-process: the simulator served the last of the three joins
   * (a response's trip earlier).
   */
  setup_control: LatencySummary;
  /** Media path bridged → both phones heard audio: the media part (first packets through the engine). */
  setup_media: LatencySummary;
  /** Tandem's own CallPair.setupMs (pair object created → media path bridged; excludes pair allocation). In-process only. */
  setup_tandem_pair: LatencySummary;
  /** Each setup step as the simulator saw it, ms after StasisStart, over set-up calls (SETUP_STEP_MEANING). */
  setup_steps: Record<SetupStep, LatencySummary>;
  /** Setup of the calls placed in each second of the run (set-up calls only). */
  setup_by_second: Array<{ second: number; calls: number; p50_ms: number; max_ms: number }>;
  /** Setup times are observed by polling the phones this often (resolution). */
  poll_interval_ms: number;
  leftovers: Leftovers;
  /** What the simulator did to hangups and bridge destroys (deleteDelayMs, deleteDropRate): delayed, never answered (kept / done). */
  delete_faults: { delayed: number; dropped_kept: number; dropped_deleted: number };
  teardown_complete: boolean;
  /** Last hangup → everything released (null when it never got there). */
  teardown_ms: number | null;
  /** node-process: how `tandem start` ended after SIGTERM. */
  tandem_exit: TandemExit | null;
  /** node-process: `tandem start` exited by itself during the run. */
  tandem_exited_early: boolean;
  /** node-process: lines `tandem start` logged at warn level or above, or on stderr. */
  tandem_warnings: number | null;
  /** Most ARI requests outstanding at once, as Tandem's HTTP client saw them (sent → answer headers). In-process only. */
  ari_max_inflight: number | null;
  /** Most requests open inside the simulator at once (held ones included). */
  ari_max_inflight_server: number;
  /** Most TCP connections open at once at the ARI server: what `sessionlimit` counts. */
  ari_max_connections: number;
  ari_requests: number;
  ari_requests_per_call: number | null;
  /** One ARI request as Tandem's HTTP client saw it (sent → answer headers), including time queued in the event loop. In-process only. */
  ari_request_p50_ms: number | null;
  ari_request_p99_ms: number | null;
  /** Requests by operation, with the simulator's own time per request (parsed → answered). */
  ari_ops: Partial<Record<AriOp, AriOpStats>>;
  /** While Tandem connected (ari-client's API description download), before any call; requests as its client saw them (in-process only). */
  ari_connect_max_inflight: number | null;
  ari_connect_max_connections: number;
  session_limit: number;
  ari_request_bound: number;
  engine_workers: number;
  /** In-process: event-loop utilisation of the engine worker threads, summed, in % of one core. */
  engine_cpu_pct: number | null;
  /** node-process: Tandem's process from /proc. */
  tandem_cpu: TandemCpu | null;
  /** CPU of this process in % of one core: in-process everything; node-process the simulator and the driver. */
  process_cpu_pct: number;
  /** This process's main thread (simulator and driver, in-process also the control plane): % of the run it ran on a CPU. */
  main_thread_cpu_pct: number | null;
  /** % of the run the main thread was runnable but waiting for a CPU held by other threads or processes. */
  main_thread_runqueue_wait_pct: number | null;
  /** The whole machine was busy this much over the run, in % of one core (from /proc/stat). */
  machine_cpu_pct: number | null;
  /** What processes other than the driver and Tandem used meanwhile, in % of one core: a noisy neighbour shows here. */
  other_processes_cpu_pct: number | null;
  /** The main thread was this late on its timers. */
  event_loop_delay_p99_ms: number;
  event_loop_delay_max_ms: number;
  duration_s: number;
  stopped_by_deadline: boolean;
  machine: MachineInfo;
}

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

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

function latency(h: Histogram): LatencySummary {
  if (h.count === 0) return { count: 0, p50_ms: null, p99_ms: null, max_ms: null };
  return { count: h.count, p50_ms: round(h.percentile(50)), p99_ms: round(h.percentile(99)), max_ms: round(h.max) };
}

/** Frames with sound in them: silence the engine plays while its jitter buffer fills would drag a zero-crossing estimate down. */
const SILENCE_RMS = 500;
const voiced = (chunks: readonly HeardChunk[]): HeardChunk[] => chunks.filter((c) => rms([c]) > SILENCE_RMS);

/**
 * "Heard audio" = heard a frame with sound in it, not merely a packet: a
 * concealment or silence frame proves no audio crossed. Each recording is
 * scanned once, from where the last poll stopped.
 */
class VoicedProbe implements PhoneProbe {
  readonly #recordings: (channelId: string) => readonly HeardChunk[];
  readonly #cursor = new Map<string, { chunks: readonly HeardChunk[]; next: number }>();

  constructor(recordings: (channelId: string) => readonly HeardChunk[]) {
    this.#recordings = recordings;
  }

  hasHeard(channelId: string): boolean {
    const chunks = this.#recordings(channelId);
    let cursor = this.#cursor.get(channelId);
    // A new phone behind a reused id has a new recording: start over.
    if (!cursor || cursor.chunks !== chunks) {
      cursor = { chunks, next: 0 };
      this.#cursor.set(channelId, cursor);
    }
    for (; cursor.next < chunks.length; cursor.next++) {
      const chunk = chunks[cursor.next];
      if (chunk && rms([chunk]) > SILENCE_RMS) {
        this.#cursor.delete(channelId);
        return true;
      }
    }
    return false;
  }
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
  const tracker = new CallTracker({
    probe: new VoicedProbe((channelId) => sim.heard(channelId)),
    now,
    setupTimeoutMs: Math.min(config.setupTimeoutMs, holdMs),
    onSetUp: (record) => {
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
      // Mirrored: the caller hears leg B's tone and leg B the caller's.
      const callerHears = dominantFrequency(voiced(sim.heard(record.channelId)));
      const legBHears = dominantFrequency(voiced(sim.heard(record.legBId)));
      if (Math.abs(callerHears - LEG_B_TONE_HZ) <= AUDIO_TOLERANCE_HZ && Math.abs(legBHears - CALLER_TONE_HZ) <= AUDIO_TOLERANCE_HZ) audioOk++;
      else {
        audioWrong++;
        if (wrongExamples.length < 10) wrongExamples.push({ pair_id: record.pairId ?? '?', caller_hears_hz: round(callerHears), legb_hears_hz: round(legBHears) });
        log.debug({ pairId: record.pairId, callerHears: round(callerHears), legBHears: round(legBHears) }, 'a call heard the wrong audio');
      }
    }
    tracker.markEnded(record);
    if (!sim.closed) sim.hangup(record.channelId);
  };

  const planMs = (config.calls / config.ratePerSecond) * 1000 + holdMs;
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
      const t = setTimeout(() => {
        timers.delete(t);
        hangUp(record);
      }, holdMs);
      timers.add(t);
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
