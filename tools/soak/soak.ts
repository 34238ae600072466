import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import { pairIdOf } from '../../control/src/calls/naming.js';
import { AsteriskSimulator, rms, tone, type EndpointConfig, type HeardChunk } from '../asterisk-simulator/ari/index.js';
import { countUdpSockets } from '../call-load/process-stats.js';
import { TandemProcess } from '../call-load/tandem-process.js';
import { deleteRedisPrefix } from '../call-load/tandem-under-test.js';

const log = logger('tools.soak');

/** Side A of pair_001; the answering leg B endpoints are 7001, 7003, … */
const BASE_EXTENSION = 7000;
const CALLER_TONE_HZ = 440;
const LEG_B_TONE_HZ = 880;
/** A heard frame with at least this RMS carries the other party's tone (silence and concealment do not). */
const VOICED_RMS = 300;
/** A call without audio on both phones by then counts as failed (and is hung up). */
const SETUP_TIMEOUT_MS = 10_000;
/** How long the end of a phase waits for Tandem to release everything. */
const SETTLE_TIMEOUT_MS = 20_000;

export type FaultName = 'none' | 'ari-websocket-drop' | 'rtp-garbage' | 'redis-pause' | 'node-restart';

export interface SoakOptions {
  /** Churned calls in all (split over the phases); default 10,000. */
  calls?: number;
  ratePerSecond?: number;
  maxConcurrent?: number;
  /** Mid-call holding time, uniformly random in [min, max] ms. */
  holdMs?: [number, number];
  /** Stop placing calls after this long, whatever is left (the run is bounded in time too). */
  maxSeconds?: number;
  /** Pairs in Redis under a fresh key prefix (and a `redis-pause` fault); memory otherwise. */
  redisUrl?: string;
  /** false: churn only, no faults. */
  faults?: boolean;
  /** Only these faults, in this order (default: every one that applies). */
  faultList?: readonly FaultName[];
  /** Engine leg ports of `tandem start`. */
  portRange?: { min: number; max: number };
  /** End with a drain (SIGTERM with calls in flight): must exit 0 with everything released. Default true. */
  drain?: boolean;
  seed?: number;
  /** More environment for `tandem start` (e.g. TANDEM_ADOPT_CALLS=false, to see what a restart costs without adoption). */
  tandemEnv?: Readonly<Record<string, string>>;
  onProgress?: (line: string) => void;
}

export interface SoakSample {
  t_s: number;
  pid: number;
  rss_mb: number | null;
  heap_used_mb: number | null;
  fds: number | null;
  leases: number | null;
  channels: number;
  bridges: number;
  calls_up: number;
}

export interface Leftovers {
  channels: number;
  bridges: number;
  leases: number | null;
  engine_sockets: number | null;
}

export interface PhaseReport {
  name: string;
  fault: FaultName;
  attempted: number;
  set_up: number;
  completed: number;
  /** Hung up on purpose before set up (the `ringing` moment): not a failure. */
  abandoned: number;
  /** Never set up (rejected, torn down while setting up, or no audio within 10 s), by reason. */
  failed: Record<string, number>;
  /** Set up, then ended by Tandem before the driver hung up, or silent after a fault it was up across: a dropped call. */
  dropped: Record<string, number>;
  setup_p50_ms: number | null;
  setup_p99_ms: number | null;
  /** How long injecting the fault took (a restart: kill → the new process connected); calls wait meanwhile. */
  fault_ms: number | null;
  /** Fault injected → the first call placed after it heard audio both ways (null: no fault, or none recovered). */
  recovery_ms: number | null;
  fault_note: string | null;
  /** Once the phase's calls ended and Tandem settled. */
  leftovers: Leftovers;
  /** Idle → idle across the phase (same process; null across a restart). Heap used here swings with GC timing: reported, judged by the floor. */
  fd_growth: number | null;
  heap_growth_mb: number | null;
  duration_s: number;
}

export interface SoakReport {
  mode: 'soak';
  tandem_command: string;
  store: 'memory' | 'redis';
  calls_planned: number;
  rate_per_s: number;
  max_concurrent: number;
  hold_ms: [number, number];
  phases: PhaseReport[];
  drain: { calls_in_flight: number; exit_code: number | null; exit_signal: string | null; finished_or_torn_down: boolean; leftovers: Leftovers } | null;
  samples: SoakSample[];
  duration_s: number;
  stopped_by_time_limit: boolean;
  /** The first process's lowest heap used in the last third of its samples minus that in the first third. */
  heap_floor_growth_mb: number | null;
  verdict: 'pass' | 'fail';
  /** Each reason for a failing verdict, with its evidence. */
  failures: string[];
}

type Moment = 'ringing' | 'after-answer' | 'mid-call';

interface Call {
  channelId: string;
  placedAt: number;
  side: 'caller' | 'legb';
  moment: Moment;
  holdMs: number;
  pairId: string | null;
  setUpAt: number | null;
  ended: boolean;
  outcome: 'pending' | 'completed' | 'abandoned' | 'failed' | 'dropped';
  reason: string | null;
  hangupTimer: NodeJS.Timeout | null;
  /** Packets Asterisk's externalMedia legs had received from the engine a second after a fault (calls up across it). */
  mediaAfterFault: { at: number; received: number } | null;
}

/** Mulberry32: a seeded run picks the same holds, sides and moments again. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN);
}

function voicedCount(chunks: readonly HeardChunk[], from = 0): number {
  let n = 0;
  for (let i = from; i < chunks.length; i++) if (rms([chunks[i]!]) > VOICED_RMS) n++;
  return n;
}

/** RSS of a process from /proc, MiB. */
function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** Tandem's bound on concurrent ARI connections (`tandem start`'s default): its keep-alive pool may hold this many sockets idle. */
const ARI_POOL_FDS = 40;

function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** GET on Tandem's API socket; null when it does not answer. */
function apiGet(socketPath: string, path: string): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/**
 * `tandem soak`: churn through `tandem start` against the Asterisk simulator, in phases, each
 * with a fault injected a third of the way in; then a drain. Bounded by call count and time.
 */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const calls = options.calls ?? 10_000;
  const rate = options.ratePerSecond ?? 20;
  const maxConcurrent = options.maxConcurrent ?? 40;
  const holdMs = options.holdMs ?? [200, 3000];
  const maxSeconds = options.maxSeconds ?? 3600;
  // Below Linux's ephemeral ports (32768…), so no bind(0) socket lands in it.
  const portRange = options.portRange ?? { min: 29000, max: 30999 };
  const random = seeded(options.seed ?? 1);
  const progress = options.onProgress ?? (() => undefined);
  const poolSize = maxConcurrent * 2 + 10;
  const password = randomBytes(12).toString('hex');
  const redisPrefix = options.redisUrl ? `tandem:soak:${randomBytes(6).toString('hex')}:` : null;
  const endpoints: Record<string, EndpointConfig> = {};
  // Each leg B rings a little, differently: hangups while ringing meet real ringing.
  for (let i = 0; i < poolSize; i++) endpoints[String(BASE_EXTENSION + 1 + i * 2)] = { behaviour: 'answer', answerAfterMs: Math.floor(random() * 150), audio: tone(LEG_B_TONE_HZ) };
  const sim = await AsteriskSimulator.start({ username: 'tandem', password, endpoints, maxHeardSeconds: 2, retainEndedPhones: 64, recordEvents: false });
  const dir = await mkdtemp(join(tmpdir(), 'tandem-soak-'));
  const apiSocket = join(dir, 'api.sock');
  const env: Record<string, string> = {
    ARI_URL: sim.ariUrl,
    ARI_USERNAME: 'tandem',
    ARI_PASSWORD: password,
    TANDEM_POOL_SIZE: String(poolSize),
    TANDEM_PAIR_BASE: String(BASE_EXTENSION),
    TANDEM_API_SOCKET: apiSocket,
    TANDEM_NODE: 'soak-node',
    TANDEM_DRAIN_TIMEOUT_MS: String(holdMs[1] + 5000),
    TANDEM_LOG_LEVEL: process.env['TANDEM_LOG_LEVEL'] ?? 'warn',
  };
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, options.tandemEnv ?? {});
  if (options.redisUrl && redisPrefix) {
    env['REDIS_URL'] = options.redisUrl;
    env['TANDEM_REDIS_PREFIX'] = redisPrefix;
  }
  const startTandem = (): Promise<TandemProcess> =>
    TandemProcess.start({ args: ['--workers', '1', '--ports', `${portRange.min}-${portRange.max}`], env, readyTimeoutMs: 120_000 });
  const waitAppConnected = async (): Promise<void> => {
    const until = Date.now() + 60_000;
    while (!sim.isAppConnected('pair_session') && Date.now() < until) await sleep(10);
  };

  const started = Date.now();
  const samples: SoakSample[] = [];
  const phases: PhaseReport[] = [];
  const failures: string[] = [];
  const live = new Map<string, Call>();
  let tandem = await startTandem();
  await waitAppConnected();
  let stoppedByTime = false;
  const timeUp = (): boolean => {
    if (Date.now() - started > maxSeconds * 1000) stoppedByTime = true;
    return stoppedByTime;
  };

  const leases = async (): Promise<number | null> => {
    const answer = await apiGet(apiSocket, '/v1/pairs');
    if (answer?.status !== 200) return null;
    try {
      return (JSON.parse(answer.body) as { pairs: unknown[] }).pairs.length;
    } catch {
      return null;
    }
  };
  const heapMb = async (): Promise<number | null> => {
    const answer = await apiGet(apiSocket, '/metrics');
    const m = answer ? /^nodejs_heap_size_used_bytes (\S+)$/m.exec(answer.body) : null;
    return m?.[1] ? round(Number(m[1]) / 1048576) : null;
  };
  const sample = async (): Promise<SoakSample> => {
    const s: SoakSample = {
      t_s: round((Date.now() - started) / 1000),
      pid: tandem.pid,
      rss_mb: rssMb(tandem.pid),
      heap_used_mb: await heapMb(),
      fds: fdCount(tandem.pid),
      leases: await leases(),
      channels: sim.channels().length,
      bridges: sim.bridges().length,
      calls_up: [...live.values()].filter((c) => c.setUpAt !== null && !c.ended).length,
    };
    samples.push(s);
    return s;
  };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sample().catch(() => undefined);
      await sleep(1000);
    }
  })();

  // Which pair each caller is in, from the bridges (brg_<PAIR>_A holds the caller).
  const pairOfCaller = (): Map<string, string> => {
    const map = new Map<string, string>();
    for (const bridge of sim.bridges()) {
      const pairId = pairIdOf(bridge.id);
      if (pairId === null || !bridge.id.endsWith('_A')) continue;
      for (const id of bridge.channels) if (pairIdOf(id) === null) map.set(id, pairId);
    }
    return map;
  };

  /** The fault being injected now (or just over): calls up across it keep holding until their audio can be checked. */
  const faultWindow = { startedAt: Infinity, endedAt: Infinity };
  /** What both externalMedia legs of a pair received from the engine (audio relayed to the phones). */
  const mediaReceived = (pairId: string): number => (sim.mediaStats(`em_${pairId}_A`)?.received ?? 0) + (sim.mediaStats(`em_${pairId}_B`)?.received ?? 0);
  const hangUp = (call: Call): void => {
    if (call.ended) return;
    const upAcrossFault = faultWindow.startedAt !== Infinity && call.setUpAt !== null && call.setUpAt < faultWindow.startedAt && call.outcome === 'pending';
    if (upAcrossFault && (Date.now() < faultWindow.endedAt + 1500 || (call.mediaAfterFault === null && Date.now() < faultWindow.endedAt + 5000))) {
      // A caller keeps holding through a fault: its call is outside the fault's reach and must carry audio after it.
      call.hangupTimer = setTimeout(() => hangUp(call), 250);
      return;
    }
    call.ended = true;
    if (call.hangupTimer) clearTimeout(call.hangupTimer);
    // A call up across a fault must carry audio again after it, not merely stay up.
    if (call.outcome === 'pending' && call.setUpAt !== null && call.pairId !== null && call.mediaAfterFault !== null && Date.now() - call.mediaAfterFault.at > 500) {
      if (mediaReceived(call.pairId) <= call.mediaAfterFault.received) {
        call.outcome = 'dropped';
        call.reason = 'silent-after-fault';
      }
    }
    if (call.outcome === 'pending') {
      if (call.setUpAt !== null) call.outcome = 'completed';
      else if (call.moment === 'ringing') call.outcome = 'abandoned';
      else {
        call.outcome = 'failed';
        call.reason = 'setup-timeout';
      }
    }
    const target = call.side === 'legb' && call.pairId !== null ? `chan_${call.pairId}_B` : call.channelId;
    if (!sim.hangup(target)) sim.hangup(call.channelId);
  };

  /** Once per poll: who got set up (audio both ways), who vanished under us. */
  const poll = (phaseCalls: Call[]): void => {
    const present = new Set(sim.channels().map((c) => c.id));
    const pairs = pairOfCaller();
    const now = Date.now();
    for (const call of phaseCalls) {
      if (call.ended) continue;
      if (!present.has(call.channelId)) {
        // Tandem hung the caller up before the driver did.
        call.ended = true;
        if (call.hangupTimer) clearTimeout(call.hangupTimer);
        call.outcome = call.setUpAt !== null ? 'dropped' : 'failed';
        call.reason = call.setUpAt !== null ? 'torn-down-by-tandem' : call.pairId === null ? 'rejected' : 'torn-down-during-setup';
        continue;
      }
      call.pairId ??= pairs.get(call.channelId) ?? null;
      if (call.setUpAt === null && call.pairId !== null) {
        const legB = `chan_${call.pairId}_B`;
        if (voicedCount(sim.heard(call.channelId)) > 0 && voicedCount(sim.heard(legB)) > 0) {
          call.setUpAt = now;
          const hold = call.moment === 'after-answer' ? 0 : call.holdMs;
          call.hangupTimer = setTimeout(() => hangUp(call), hold);
        }
      }
      if (call.setUpAt === null && now - call.placedAt > SETUP_TIMEOUT_MS) hangUp(call);
    }
  };

  const settle = async (): Promise<Leftovers> => {
    const until = Date.now() + SETTLE_TIMEOUT_MS;
    let left: Leftovers;
    for (;;) {
      left = { channels: sim.channels().length, bridges: sim.bridges().length, leases: await leases(), engine_sockets: countUdpSockets(tandem.pid, portRange) };
      const clean = left.channels === 0 && left.bridges === 0 && (left.leases ?? 0) === 0 && (left.engine_sockets ?? 0) === 0;
      if (clean || Date.now() > until) return left;
      await sleep(100);
    }
  };

  /** Idle fds: the fewest of a few reads (the sampler's own API request may hold one a moment). */
  const idleFds = async (): Promise<number | null> => {
    let least: number | null = null;
    for (let i = 0; i < 5; i++) {
      const n = fdCount(tandem.pid);
      if (n !== null) least = least === null ? n : Math.min(least, n);
      await sleep(200);
    }
    return least;
  };

  let callNumber = 0;
  const runPhase = async (name: string, fault: FaultName, count: number): Promise<void> => {
    const phaseStart = Date.now();
    const idleBefore = { pid: tandem.pid, fds: await idleFds(), heap: await heapMb() };
    const phaseCalls: Call[] = [];
    const faultAfter = fault === 'none' ? Infinity : Math.floor(count / 3);
    let faultAt: number | null = null;
    let faultNote: string | null = null;
    let faultMs: number | null = null;
    let recoveryMs: number | null = null;
    const poller = setInterval(() => {
      poll(phaseCalls);
      if (faultAt !== null && recoveryMs === null) {
        const recovered = phaseCalls.find((c) => c.placedAt >= faultAt! && c.setUpAt !== null);
        if (recovered) recoveryMs = recovered.setUpAt! - faultAt;
      }
    }, 20);
    try {
      // Past its count, a fault phase places calls on until one sets up after the fault (up to 15 s): its recovery.
      const more = (i: number): boolean => i < count || (faultAt !== null && recoveryMs === null && Date.now() - faultAt < 15_000);
      for (let i = 0; more(i) && !timeUp(); i++) {
        // The schedule resumes after a fault rather than catching up in a burst.
        await sleep(phaseStart + (faultMs ?? 0) + (i * 1000) / rate - Date.now());
        while ([...live.values()].filter((c) => !c.ended).length >= maxConcurrent) await sleep(5);
        if (i === faultAfter) {
          const injecting = Date.now();
          faultWindow.startedAt = injecting;
          faultWindow.endedAt = Infinity;
          faultNote = await injectFault(fault);
          faultAt = Date.now();
          faultWindow.endedAt = faultAt;
          faultMs = faultAt - injecting;
          setTimeout(() => {
            for (const c of phaseCalls) {
              if (!c.ended && c.setUpAt !== null && c.setUpAt < injecting && c.pairId !== null) c.mediaAfterFault = { at: Date.now(), received: mediaReceived(c.pairId) };
            }
          }, 1000).unref();
        }
        const r = random();
        const moment: Moment = r < 0.05 ? 'ringing' : r < 0.2 ? 'after-answer' : 'mid-call';
        const placed = sim.placeCall({ callerNumber: `9${String(callNumber++).padStart(6, '0')}`, audio: tone(CALLER_TONE_HZ) });
        const call: Call = {
          channelId: placed.channelId,
          placedAt: Date.now(),
          side: random() < 0.5 ? 'caller' : 'legb',
          moment,
          holdMs: holdMs[0] + Math.floor(random() * (holdMs[1] - holdMs[0])),
          pairId: null,
          setUpAt: null,
          ended: false,
          outcome: 'pending',
          reason: null,
          hangupTimer: null,
          mediaAfterFault: null,
        };
        phaseCalls.push(call);
        live.set(call.channelId, call);
        if (!placed.enteredStasis) {
          call.ended = true;
          call.outcome = 'failed';
          call.reason = 'not-in-stasis';
        } else if (moment === 'ringing') {
          call.hangupTimer = setTimeout(() => hangUp(call), Math.floor(random() * 40));
        }
      }
      while (phaseCalls.some((c) => !c.ended)) await sleep(20);
    } finally {
      clearInterval(poller);
      faultWindow.startedAt = Infinity;
      faultWindow.endedAt = Infinity;
    }
    for (const c of phaseCalls) live.delete(c.channelId);
    const leftovers = await settle();
    const idleAfter = { pid: tandem.pid, fds: await idleFds(), heap: await heapMb() };
    const samePid = idleBefore.pid === idleAfter.pid;
    const setupTimes = phaseCalls.filter((c) => c.setUpAt !== null).map((c) => c.setUpAt! - c.placedAt).sort((a, b) => a - b);
    const tally = (outcome: Call['outcome']): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const c of phaseCalls) if (c.outcome === outcome) out[c.reason ?? 'unknown'] = (out[c.reason ?? 'unknown'] ?? 0) + 1;
      return out;
    };
    const report: PhaseReport = {
      name,
      fault,
      attempted: phaseCalls.length,
      set_up: setupTimes.length,
      completed: phaseCalls.filter((c) => c.outcome === 'completed').length,
      abandoned: phaseCalls.filter((c) => c.outcome === 'abandoned').length,
      failed: tally('failed'),
      dropped: tally('dropped'),
      setup_p50_ms: percentile(setupTimes, 50),
      setup_p99_ms: percentile(setupTimes, 99),
      fault_ms: faultMs,
      recovery_ms: recoveryMs,
      fault_note: faultNote,
      leftovers,
      fd_growth: samePid && idleBefore.fds !== null && idleAfter.fds !== null ? idleAfter.fds - idleBefore.fds : null,
      heap_growth_mb: samePid && idleBefore.heap !== null && idleAfter.heap !== null ? round(idleAfter.heap - idleBefore.heap) : null,
      duration_s: round((Date.now() - phaseStart) / 1000),
    };
    phases.push(report);
    progress(`phase ${name}: ${report.attempted} attempted, ${report.set_up} set up, ${report.completed} completed, dropped ${JSON.stringify(report.dropped)}, failed ${JSON.stringify(report.failed)}, setup p50/p99 ${report.setup_p50_ms}/${report.setup_p99_ms} ms, recovery ${report.recovery_ms ?? '-'} ms, leftovers ${JSON.stringify(leftovers)}`);
  };

  const injectFault = async (fault: FaultName): Promise<string | null> => {
    switch (fault) {
      case 'none':
        return null;
      case 'ari-websocket-drop':
        sim.dropApplicationSockets('pair_session');
        return 'the simulator closed the pair_session event WebSocket';
      case 'rtp-garbage': {
        // Malformed datagrams and well-formed RTP from a stranger's address at every leg port.
        const socket = createSocket('udp4');
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        let sent = 0;
        for (let port = portRange.min; port <= portRange.max; port++) {
          const junk = randomBytes(1 + Math.floor(random() * 200));
          const spoofed = Buffer.alloc(172);
          spoofed[0] = 0x80;
          spoofed.writeUInt16BE(Math.floor(random() * 65535), 2);
          spoofed.writeUInt32BE(0xdeadbeef, 8);
          for (const packet of [junk, spoofed, Buffer.alloc(0), Buffer.from([0x80])]) {
            socket.send(packet, port, '127.0.0.1');
            sent++;
          }
          if (port % 200 === 0) await sleep(1);
        }
        await sleep(50);
        socket.close();
        return `${sent} malformed and spoofed datagrams to ports ${portRange.min}-${portRange.max}`;
      }
      case 'redis-pause': {
        if (!options.redisUrl) return 'skipped: no REDIS_URL';
        const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
        redis.on('error', () => undefined);
        try {
          await redis.connect();
          await redis.call('CLIENT', 'PAUSE', '3000', 'ALL');
          return 'CLIENT PAUSE 3000 ALL';
        } finally {
          redis.disconnect();
        }
      }
      case 'node-restart': {
        // A crash: nothing torn down; the next process under the same name adopts the calls.
        const exit = await tandem.kill('SIGKILL');
        tandem = await startTandem();
        await waitAppConnected();
        return `tandem start killed (${exit.signal ?? exit.code}) and started again`;
      }
    }
  };

  let drain: SoakReport['drain'] = null;
  try {
    const faultsOn = options.faults ?? true;
    const faultList: readonly FaultName[] = !faultsOn
      ? []
      : (options.faultList ?? ['ari-websocket-drop', 'rtp-garbage', ...(options.redisUrl ? (['redis-pause'] as const) : []), 'node-restart']);
    // Half the calls churn with no fault; the rest are shared by the fault phases.
    const churnCalls = faultList.length === 0 ? calls : Math.ceil(calls / 2);
    const perFault = faultList.length === 0 ? 0 : Math.max(3, Math.floor((calls - churnCalls) / faultList.length));
    // Warm-up, not judged for fds and heap: the ARI client's connection pool and the engine grow to the load first.
    await runPhase('warmup', 'none', Math.min(churnCalls, maxConcurrent * 2));
    await runPhase('churn', 'none', churnCalls);
    for (const fault of faultList) {
      if (timeUp()) break;
      await runPhase(fault, fault, perFault);
    }
    if ((options.drain ?? true) && !timeUp()) drain = await runDrain();
  } finally {
    sampling = false;
    await sampler;
    for (const c of live.values()) if (c.hangupTimer) clearTimeout(c.hangupTimer);
    await tandem.stop(30_000).catch(() => undefined);
    await sim.close();
    await rm(dir, { recursive: true, force: true });
    if (options.redisUrl && redisPrefix) await deleteRedisPrefix(options.redisUrl, redisPrefix).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'Redis cleanup failed'));
  }

  async function runDrain(): Promise<NonNullable<SoakReport['drain']>> {
    // A few calls in flight, then SIGTERM: they finish (the driver hangs them up) and the node exits 0.
    const inFlight: string[] = [];
    for (let i = 0; i < Math.min(5, maxConcurrent); i++) inFlight.push(sim.placeCall({ callerNumber: `8${i}`, audio: tone(CALLER_TONE_HZ) }).channelId);
    const until = Date.now() + 30_000;
    while (Date.now() < until && !inFlight.every((id) => pairOfCaller().has(id) && voicedCount(sim.heard(id)) > 0)) await sleep(20);
    const stopping = tandem.stop(holdMs[1] + 30_000);
    await sleep(holdMs[0]);
    for (const id of inFlight) sim.hangup(id);
    const exit = await stopping;
    const left: Leftovers = { channels: sim.channels().length, bridges: sim.bridges().length, leases: null, engine_sockets: null };
    progress(`drain: ${inFlight.length} calls in flight, exit ${exit.code ?? exit.signal}, leftovers ${JSON.stringify(left)}`);
    return { calls_in_flight: inFlight.length, exit_code: exit.code, exit_signal: exit.signal, finished_or_torn_down: left.channels === 0 && left.bridges === 0, leftovers: left };
  }

  // The verdict: anything leaked or lost fails the run, with its evidence.
  for (const p of phases) {
    const l = p.leftovers;
    if (l.channels + l.bridges > 0 || (l.leases ?? 0) > 0 || (l.engine_sockets ?? 0) > 0) failures.push(`${p.name}: leftovers after settling ${JSON.stringify(l)}`);
    const dropped = Object.values(p.dropped).reduce((a, b) => a + b, 0);
    if (dropped > 0) failures.push(`${p.name}: ${dropped} set-up call(s) dropped ${JSON.stringify(p.dropped)}`);
    if (p.fault === 'none') {
      const failed = Object.values(p.failed).reduce((a, b) => a + b, 0);
      if (failed > 0) failures.push(`${p.name}: ${failed} call(s) never set up without any fault ${JSON.stringify(p.failed)}`);
    }
    // Idle to idle, Tandem's ARI client may keep up to its connection bound (40) of keep-alive sockets,
    // and a fault (a dropped WebSocket, a burst of queued setups after it) can regrow that pool: only
    // growth beyond the bound is judged a leak. The figures stay in the report (fd_growth).
    if (p.name !== 'warmup' && p.fd_growth !== null && p.fd_growth > ARI_POOL_FDS) failures.push(`${p.name}: file descriptors grew by ${p.fd_growth} idle to idle`);
    if (p.fault !== 'none' && p.recovery_ms === null && p.fault_note !== null && !p.fault_note.startsWith('skipped')) failures.push(`${p.name}: no call set up after the fault`);
    if (p.recovery_ms !== null && p.recovery_ms > 5000) failures.push(`${p.name}: recovered only after ${p.recovery_ms} ms (> 5000)`);
  }
  // Heap used between collections swings by tens of MB with load: a leak shows as a rising floor.
  // The first process's lowest heap in its first third of samples against its last third.
  const heapFloor = heapFloorGrowth(samples);
  if (heapFloor !== null && heapFloor > 30) failures.push(`heap floor rose ${heapFloor} MB over the first process's run`);
  if (drain && (drain.exit_code !== 0 || !drain.finished_or_torn_down)) failures.push(`drain: exit ${drain.exit_code ?? drain.exit_signal}, leftovers ${JSON.stringify(drain.leftovers)}`);

  return {
    mode: 'soak',
    tandem_command: tandem.command,
    store: options.redisUrl ? 'redis' : 'memory',
    calls_planned: calls,
    rate_per_s: rate,
    max_concurrent: maxConcurrent,
    hold_ms: holdMs,
    phases,
    drain,
    samples,
    duration_s: round((Date.now() - started) / 1000),
    stopped_by_time_limit: stoppedByTime,
    heap_floor_growth_mb: heapFloor,
    verdict: failures.length === 0 ? 'pass' : 'fail',
    failures,
  };
}

function heapFloorGrowth(samples: readonly SoakSample[]): number | null {
  const first = samples.filter((s) => s.pid === samples[0]?.pid && s.heap_used_mb !== null).map((s) => s.heap_used_mb!);
  if (first.length < 9) return null;
  const third = Math.floor(first.length / 3);
  return round(Math.min(...first.slice(-third)) - Math.min(...first.slice(0, third)));
}
