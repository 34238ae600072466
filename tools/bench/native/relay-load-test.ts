import { errorMessage } from '../../../common/src/errors.js';
import { logger } from '../../../common/src/logger.js';
import { NO_IMPAIRMENT, type CoreResult } from '../../media-load/generator-protocol.js';
import { Histogram } from '../../media-load/histogram.js';
import { GeneratorLink } from '../../media-load/generator-link.js';
import { nodeRelayLaunch, type RelayLaunch } from './node-relay-launch.js';
import { RelayProcess, type RelayMode, type RelayStats } from './relay-process.js';

/**
 * The load test of loadtest/orchestrator.ts, pointed at a relay (the C relay,
 * or the Node relay in mode `node`) instead of Tandem's engine: the same
 * generator child, the same schedule and the same loss and latency
 * accounting, so they can be compared. The relay's CPU and packet counters
 * are read at the start and the end of the measured window, as the
 * orchestrator reads the engine process's.
 */
export interface RelayLoadTestOptions {
  /** The C relay binary, needed for modes socket and mmsg; modes node and node-batch run node-relay.ts instead. */
  relayBinary?: string;
  mode: RelayMode;
  /** Mode node-batch: the batch port's implementation (default native) and datagrams per call (default 64). */
  io?: 'native' | 'dgram';
  batch?: number;
  pairs: number;
  seconds: number;
  /** Relay threads. Default 2. */
  threads?: number;
  warmupSeconds?: number;
  drainMs?: number;
  /** Default: one per 250 pairs, at most 2 (as the orchestrator). */
  generatorThreads?: number;
  /** Relay ports start here; default 0: the kernel picks free ones, so runs never collide with anything else on the machine. */
  basePort?: number;
  socketBufferBytes?: number;
  preferTone?: boolean;
}

export type RelayVariant = 'c-relay-socket' | 'c-relay-mmsg' | 'node-relay' | 'node-batch-native' | 'node-batch-dgram';

export function relayVariant(mode: RelayMode, io: 'native' | 'dgram' = 'native'): RelayVariant {
  if (mode === 'node') return 'node-relay';
  if (mode === 'node-batch') return `node-batch-${io}`;
  return `c-relay-${mode}`;
}

export interface RelayLoadReport {
  variant: RelayVariant;
  pairs: number;
  seconds: number;
  threads: number;
  /** Frames sent in the measured window that never came out of the other leg, both directions. */
  loss_pct: number;
  frames_sent: number;
  frames_received: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  /** Relay process CPU over the measured window. */
  cpu_s: number;
  cpu_pct: number;
  /** Packets the relay received and sent in the measured window. */
  packets_in: number;
  packets_out: number;
  /** Relay CPU ÷ packets relayed (min of in and out), in microseconds. */
  cpu_us_per_packet: number;
  /** Mean datagrams per receive call (modes mmsg and node-batch), else null. */
  rx_batch_mean: number | null;
  relay_final: RelayStats | null;
  generator_send_late_p99_ms: number;
}

const STEP_TIMEOUT_MS = 30_000;
const log = logger('bench-native');

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function relayLaunch(o: RelayLoadTestOptions): RelayLaunch {
  if (o.mode === 'node') return nodeRelayLaunch();
  if (o.mode === 'node-batch') {
    const launch = nodeRelayLaunch();
    return { binary: launch.binary, binaryArgs: [...launch.binaryArgs, '--io', o.io ?? 'native', '--batch', String(o.batch ?? 64)] };
  }
  if (o.relayBinary === undefined) throw new TypeError(`relay mode ${o.mode} needs relayBinary (native-bench/build/relay)`);
  return { binary: o.relayBinary, binaryArgs: [] };
}

export async function runRelayLoadTest(o: RelayLoadTestOptions): Promise<RelayLoadReport> {
  if (!Number.isInteger(o.pairs) || o.pairs < 1) throw new RangeError(`pairs must be a positive integer, got ${o.pairs}`);
  if (!(o.seconds > 0)) throw new RangeError(`seconds must be positive, got ${o.seconds}`);
  const warmupSeconds = o.warmupSeconds ?? 3;
  const drainMs = o.drainMs ?? 600;
  const threads = o.threads ?? 2;
  const generatorThreads = o.generatorThreads ?? Math.min(2, Math.max(1, Math.ceil(o.pairs / 250)));
  const socketBufferBytes = o.socketBufferBytes ?? 2 * 1024 * 1024;
  const runMs = (warmupSeconds + o.seconds) * 1000 + drainMs;
  // The relay's own hard limit: it outlives the run by a margin and then stops by itself.
  const maxSeconds = Math.ceil(runMs / 1000) + 60 + o.pairs / 20;

  const relay = await RelayProcess.start({
    ...relayLaunch(o),
    mode: o.mode,
    pairs: o.pairs,
    threads,
    basePort: o.basePort ?? 0,
    maxSeconds,
    socketBufferBytes,
  });
  let link: GeneratorLink | null = null;
  try {
    // Phases are observed once the relay's stats can be sampled (set below).
    let onPhase: (phase: 'probe' | 'measuring' | 'draining') => void = () => {};
    link = new GeneratorLink((message) => {
      if (message.type === 'phase') onPhase(message.phase);
    });
    await link.waitFor('hello', STEP_TIMEOUT_MS);
    const ready = link.waitFor('ready', STEP_TIMEOUT_MS + o.pairs * 20);
    link.send({
      type: 'setup',
      pairs: relay.legs.map((l, index) => ({ index, legA: l.legA, legB: l.legB })),
      threads: generatorThreads,
      socketBufferBytes,
      preferTone: o.preferTone ?? true,
      codec: 'ulaw',
      impairment: NO_IMPAIRMENT,
      capacityPairs: o.pairs,
    });
    const { ports } = await ready;
    for (const p of ports) {
      relay.setRemote(p.index, 'A', { address: '127.0.0.1', port: p.portA });
      relay.setRemote(p.index, 'B', { address: '127.0.0.1', port: p.portB });
    }
    // The relay answers in order: once this arrives, every peer above is in place.
    const before = await relay.stats();
    if (before.bad_commands > 0) throw new Error(`the relay rejected ${before.bad_commands} peer commands`);

    let windowStart: Promise<RelayStats> | null = null;
    let windowEnd: Promise<RelayStats> | null = null;
    const generator = link;
    // Awaited only after the generator's result: marked handled now so an early failure is not an unhandled rejection.
    const observed = (): Promise<RelayStats> => {
      const p = relay.closed ? Promise.reject(new Error('the relay exited during the run')) : relay.stats();
      p.catch(() => undefined);
      return p;
    };
    onPhase = (phase) => {
      if (phase === 'measuring') windowStart = observed();
      if (phase === 'draining') windowEnd = observed();
    };
    const result = generator.waitFor('result', STEP_TIMEOUT_MS + runMs);
    generator.send({ type: 'start', schedule: { warmupMs: warmupSeconds * 1000, measureMs: o.seconds * 1000, drainMs } });
    log.info({ pairs: o.pairs, seconds: o.seconds, mode: o.mode }, 'relay load test running');
    const g = (await result).result;
    if (windowStart === null || windowEnd === null) throw new Error('the generator did not announce its measured window');
    const [start, end] = await Promise.all([windowStart as Promise<RelayStats>, windowEnd as Promise<RelayStats>]);
    const final = await relay.close();
    return buildReport(o, threads, g, start, end, final);
  } finally {
    await relay.close().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'closing the relay failed'));
    await link?.stop(3000).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping the generator failed'));
  }
}

function buildReport(
  o: RelayLoadTestOptions,
  threads: number,
  g: CoreResult,
  start: RelayStats,
  end: RelayStats,
  final: RelayStats | null,
): RelayLoadReport {
  const latency = Histogram.fromSnapshot(g.aToB.latency);
  latency.merge(g.bToA.latency);
  const sent = g.aToB.sent + g.bToA.sent;
  const received = g.aToB.received + g.bToA.received;
  const cpu = end.cpu_s - start.cpu_s;
  const wall = end.wall_s - start.wall_s;
  const packetsOut = end.tx_packets - start.tx_packets;
  const batches = end.rx_batches - start.rx_batches;
  const packetsIn = end.rx_packets - start.rx_packets;
  return {
    variant: relayVariant(o.mode, o.io),
    pairs: o.pairs,
    seconds: o.seconds,
    threads,
    loss_pct: sent > 0 ? round((Math.max(0, sent - received) / sent) * 100, 4) : 100,
    frames_sent: sent,
    frames_received: received,
    latency_p50_ms: round(latency.percentile(50)),
    latency_p99_ms: round(latency.percentile(99)),
    cpu_s: round(cpu, 4),
    cpu_pct: wall > 0 ? round((cpu / wall) * 100, 1) : 0,
    packets_in: packetsIn,
    packets_out: packetsOut,
    cpu_us_per_packet: Math.min(packetsIn, packetsOut) > 0 ? round((cpu / Math.min(packetsIn, packetsOut)) * 1e6, 3) : 0,
    rx_batch_mean: (o.mode === 'mmsg' || o.mode === 'node-batch') && batches > 0 ? round(packetsIn / batches, 2) : null,
    relay_final: final,
    generator_send_late_p99_ms: round(Histogram.fromSnapshot(g.sendLateness).percentile(99)),
  };
}
