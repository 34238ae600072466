import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseConfig } from '../../../common/src/parse-config.js';
import { RecordingConfigSchema } from '../pipeline/recording/pair-recorder.js';
import { AdaptiveGateSchema } from '../pipeline/vad/options.js';

/** Each pair binds one UDP port per leg. */
const PORTS_PER_PAIR = 2;

/**
 * Every engine setting in one place, with its default. `parseEngineConfig`
 * is the only way in, so a wrong key is reported once, by name, at startup.
 */
const portRangeSchema = z
  .object({ min: z.number().int().min(1024).max(65535), max: z.number().int().min(1024).max(65535) })
  .refine((r) => r.max >= r.min, { message: 'max must be >= min' })
  .refine((r) => r.max - r.min + 1 >= PORTS_PER_PAIR, { message: `must hold at least ${PORTS_PER_PAIR} ports (a pair takes two)` });

export const engineConfigSchema = z.object({
  /** Worker threads that own pair sockets. Default: one per core. */
  workers: z.number().int().min(1).max(64).default(() => Math.max(1, availableParallelism())),
  /** Address every leg socket binds to. Loopback unless Asterisk runs elsewhere. */
  bindAddress: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
  /**
   * UDP ports for leg sockets; each pair takes two; shards split the range.
   * Default sits between Asterisk's own RTP range (rtp.conf 10000-20000) and
   * Linux's ephemeral ports (32768+), so neither can take a leg's port.
   */
  portRange: portRangeSchema.default({ min: 21000, max: 29999 }),
  /**
   * Strict RTP, as Asterisk's rtp.conf `strictrtp=yes` with `probation` (same
   * default): a new source (another SSRC from the leg's peer, or, latching, another
   * address) must send this many consecutive packets, each at least 8 ms after the
   * one before, with none from the current source in between, before the leg
   * switches to it. Packets meanwhile are dropped and counted (SSRC_PROBATION,
   * LATCH_PROBATION in leg stats). docs/media-sources.md.
   */
  probationPackets: z.number().int().min(1).max(64).default(4),
  /**
   * May a leg with no remote yet latch onto the first source that passes
   * probation? Off by default: `tandem start` tells every leg Asterisk's address
   * (externalMedia's UNICASTRTP_LOCAL_ADDRESS/PORT), and a leg that latched would
   * answer whoever sprayed its port first. Per pair: OpenPairRequest.latch.
   */
  latch: z.boolean().default(false),
  /**
   * How RTP legs reach the network (`tandem start --io`). 'native': the legs of
   * each worker share one batched UDP port (the udp_batch addon: recvmmsg and
   * one sendmmsg per tick), told apart by Asterisk's source address. 'dgram': a
   * node:dgram socket per leg. 'auto': native when the addon loads, else dgram
   * with one logged notice. An explicit 'native' that cannot load fails the
   * start. Latching pairs (`tandem engine`) keep a socket per leg either way:
   * their peer is unknown until it has sent. docs/batched-io.md.
   */
  io: z.enum(['auto', 'native', 'dgram']).default('auto'),
  /** Kernel socket buffers; RcvbufErrors in /proc/net/snmp is how undersizing shows. */
  socketBufferBytes: z.number().int().min(65536).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
  /** Default externalMedia format of a pair's legs. */
  codec: z.enum(['ulaw', 'alaw', 'slin', 'slin16']).default('ulaw'),
  jitter: z
    .object({
      minDepthMs: z.number().int().min(20).max(1000).default(20),
      maxDepthMs: z.number().int().min(20).max(2000).default(200),
    })
    .refine((j) => j.maxDepthMs >= j.minDepthMs, { message: 'maxDepthMs must be >= minDepthMs' })
    .default({ minDepthMs: 20, maxDepthMs: 200 }),
  /** Sub-slots per 20 ms period (default 10: 2 ms apart); each stream's tick sits in the slot just after its packets arrive. */
  scheduleSlots: z.number().int().min(1).max(20).default(10),
  /**
   * How long after a stream's arrival phase its tick comes. A packet up to this
   * late still makes its tick (no concealment, no depth growth); each ms here
   * is a ms of added latency. 6 ms keeps p50 latency well under 30 ms.
   */
  alignMarginMs: z.number().min(0).max(20).default(6),
  /**
   * Nice value of the worker threads that own pair sockets (-20..19; the
   * process's other threads keep theirs). Below 0 they preempt whatever else
   * runs on the box, so ticks leave on time under load: at 500 pairs beside
   * the load generator, p99 pacing jitter 2.9 ms at 0 and 1.3–1.7 ms at -5
   * (docs/design-notes.md, Worker priority). Needs CAP_SYS_NICE; without it the workers run at the process's
   * priority and say so in the log and in stats.
   */
  workerNice: z.number().int().min(-20).max(19).default(-5),
  /**
   * The Silero VAD each worker runs for its translated pairs: batching trades
   * CPU for decision latency (see pipeline/vad/options.ts for each knob).
   */
  vad: z
    .object({
      maxBatchSize: z.number().int().min(1).max(4096).default(64),
      batchWindowMs: z.number().min(0).max(32).default(8),
      urgentDecisions: z.boolean().default(true),
      /** The energy gate in front of Silero: chunks near the line's background skip the model (docs/vad.md). */
      adaptiveGate: AdaptiveGateSchema.default(AdaptiveGateSchema.parse({})),
    })
    .strict()
    .default({ maxBatchSize: 64, batchWindowMs: 8, urgentDecisions: true, adaptiveGate: AdaptiveGateSchema.parse({}) }),
  /** Where pairs opened with `record: true` write their 4-channel WAV; omitted = recording refused. */
  recording: RecordingConfigSchema.optional(),
  /**
   * How long a WebSocket leg may take to connect to chan_websocket and get its MEDIA_START
   * (media transport 'websocket'); the control plane's connectMedia waits this plus a second.
   */
  mediaConnectTimeoutMs: z.number().int().min(100).max(60000).default(4000),
  /** Deadline for a control message to a worker (open, close, stats...). */
  requestTimeoutMs: z.number().int().min(50).max(60000).default(5000),
  /**
   * How long a worker thread may take to start (load its module, bind nothing yet,
   * say ready), at engine start and when a crashed shard is restarted. Generous: it
   * only ends a stuck start, and a busy box (a compile beside it) takes seconds to
   * spawn a thread that loads the pipeline. A request sent to a shard still starting
   * waits for the rest of this deadline before its own requestTimeoutMs begins.
   */
  workerStartTimeoutMs: z.number().int().min(100).max(300_000).default(30_000),
}).superRefine((config, ctx) => {
  // Shards split the range (port min + shard, + workers, ...): each share must hold a pair.
  const ports = config.portRange.max - config.portRange.min + 1;
  if (ports < PORTS_PER_PAIR * config.workers) {
    ctx.addIssue({
      code: 'custom',
      path: ['portRange'],
      message: `holds ${ports} ports; ${config.workers} workers need at least ${PORTS_PER_PAIR * config.workers} (each worker's share of the range must hold a pair)`,
    });
  }
});

export type EngineConfig = z.output<typeof engineConfigSchema>;
export type EngineConfigInput = z.input<typeof engineConfigSchema>;

export function parseEngineConfig(input: unknown = {}): EngineConfig {
  return parseConfig(engineConfigSchema, input, 'engine');
}
