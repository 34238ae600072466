import type { SharedPortStats } from '../transport/shared-rtp-port.js';
import type { ThreadPriority } from './thread-priority.js';
import type { CodecName } from '../codec/index.js';
import type { RtpParseErrorCode } from '../rtp/index.js';
import type { JitterStats } from '../jitter/index.js';
import type { MessagePort } from 'node:worker_threads';
import type { EngineConfig } from '../config/engine-config.js';
import type { Direction } from '../pipeline/stage.js';
import type { RecordingSummary } from '../pipeline/recording/pair-recorder.js';
import type { TranscriptEvent } from '../pipeline/transcript-event.js';
import type { PairTranslationInput } from '../pipeline/translation/config.js';
import type { DirectionEvent } from '../pipeline/translation/translating-stage.js';
import type { VadEngineStats } from '../pipeline/vad/vad-engine.js';
import type { LegLevel } from '../session/level-meter.js';
import type { TapSource } from '../session/pair-tap.js';
import type { PcmRingLayout } from '../tap/pcm-ring.js';

/**
 * Messages between the engine (main thread) and a shard (worker thread) over
 * one MessagePort. Requests carry an id and get exactly one response; the
 * shard may also send notifications at any time.
 */
export type LegName = 'A' | 'B';

export interface UdpEndpoint {
  address: string;
  port: number;
}

/**
 * How a pair's legs reach Asterisk. 'rtp': one UDP socket per leg, for UnicastRTP
 * externalMedia channels (remote set with setRemote). 'websocket': one client
 * connection per leg to chan_websocket's `/media/<connection id>` (connectMedia),
 * the path on which Asterisk plays 16 kHz audio back (docs/wideband-media.md).
 */
export type MediaTransport = 'rtp' | 'websocket';

/** What Asterisk said in MEDIA_START when a WebSocket leg connected. */
export interface MediaStartInfo {
  connectionId: string;
  /** Asterisk's channel name (`WebSocket/INCOMING/0x...`). */
  channel: string;
  /** The channel's unique id, when Asterisk sent it. */
  channelId: string | null;
  format: string;
  /** Bytes per 20 ms frame (640 for slin16, 160 for ulaw). */
  optimalFrameSize: number;
  ptimeMs: number;
}

export interface OpenPairRequest {
  pairId: string;
  extA: string;
  extB: string;
  codec?: CodecName;
  /** Asterisk's UNICASTRTP_LOCAL_ADDRESS:PORT per leg, when already known. */
  remoteA?: UdpEndpoint;
  remoteB?: UdpEndpoint;
  /**
   * May a leg whose remote is not set yet adopt the first source that passes
   * probation (`probationPackets` consecutive packets)? Default: the engine's
   * `latch` setting (false). Without it such a leg drops everything (NO_REMOTE)
   * until setRemote; a control plane that knows Asterisk's address never needs it.
   */
  latch?: boolean;
  /** Record both legs, original and translated, to one WAV (needs the engine's `recording` settings). */
  record?: boolean;
  /** Translate the pair (languages, provider); omitted = transparent duplex. */
  translation?: PairTranslationInput;
  /** How the legs reach Asterisk; default 'rtp'. */
  transport?: MediaTransport;
}

interface OpenPairResultBase {
  pairId: string;
  shard: number;
  /** The recording's file, when the pair is recorded. */
  recordingPath?: string;
}

export interface RtpPairResult extends OpenPairResultBase {
  transport?: 'rtp';
  /** Where Asterisk must send each leg's RTP (externalMedia `external_host`). */
  legA: UdpEndpoint;
  legB: UdpEndpoint;
}

/** A WebSocket pair's legs have no local address: each connects out to Asterisk (connectMedia). */
export interface WebSocketPairResult extends OpenPairResultBase {
  transport: 'websocket';
}

export type OpenPairResult = RtpPairResult | WebSocketPairResult;

export type ShardRequestBody =
  | { type: 'openPair'; request: OpenPairRequest }
  | { type: 'setRemote'; pairId: string; leg: LegName; remote: UdpEndpoint }
  /** Connects a WebSocket pair's leg to chan_websocket (`ws://<asterisk http>/media/<id>`); answers MediaStartInfo. */
  | { type: 'connectMedia'; pairId: string; leg: LegName; url: string }
  /** Answered with the pair's final PairStats (taken just before its sockets close), or null when it was not open. */
  | { type: 'closePair'; pairId: string }
  /** New translation settings for a running pair (null: back to the transparent duplex). */
  | { type: 'setTranslation'; pairId: string; translation: PairTranslationInput | null }
  /** Drop translated audio queued for playback (both directions when `direction` is omitted). */
  | { type: 'clearPlayback'; pairId: string; direction?: Direction }
  /** A listener's tap on a pair: the worker copies `source` into the shared ring each tick (answers null). */
  | { type: 'tap'; pairId: string; tapId: string; source: TapSource; ring: PcmRingLayout }
  /** Ends a tap (answers whether it existed). */
  | { type: 'untap'; pairId: string; tapId: string }
  | { type: 'stats' }
  | { type: 'shutdown' };

export type ShardRequest = ShardRequestBody & { id: number };

export interface ShardErrorPayload {
  name: string;
  message: string;
  code?: string;
}

export type ShardResponse =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: ShardErrorPayload };

export type ShardNotification =
  | { kind: 'ready'; shard: number }
  | { kind: 'pairClosed'; pairId: string; reason: string }
  | { kind: 'transcript'; event: TranscriptEvent }
  /** A pair's recording was closed (file complete); sent after the pair closed. */
  | { kind: 'recording'; pairId: string; summary: RecordingSummary }
  /** A leg's socket is now connected to its peer: set by the control plane, or latched. */
  | { kind: 'legConnected'; pairId: string; leg: LegName; remote: UdpEndpoint; latched: boolean }
  | { kind: 'translationEvent'; pairId: string; direction: Direction; event: DirectionEvent };

export type ShardMessage = ShardResponse | ShardNotification;

export interface ShardTaskInput {
  shard: number;
  shardCount: number;
  config: EngineConfig;
  port: MessagePort;
}

/** Counters only a WebSocket leg has (chan_websocket's control messages and flow control). */
export interface WebSocketLegCounters {
  /** Text messages from Asterisk, by event name (MEDIA_XOFF, DTMF_END, ERROR, ...; UNPARSED for the rest). */
  controlMessages: Record<string, number>;
  /** Frames not sent because Asterisk had said MEDIA_XOFF (its queue held ~900 frames). */
  txDroppedXoff: number;
  /** Frames not sent because the connection's send buffer was full (TCP not draining). */
  txDroppedBackpressure: number;
  /** Bytes of binary messages that did not fill a whole frame (kept until the next message completes it). */
  partialBytes: number;
  /** Close code and reason once the connection ended (1000 when Asterisk hung the channel up). */
  closeCode: number | null;
  closeReason: string | null;
}

/**
 * Why a received datagram never reached a leg's jitter buffer (a key of LegStats.rxDropped).
 * - Parse errors (RtpParseErrorCode): not a usable RTP packet (TOO_SHORT, BAD_VERSION, RTCP, ...).
 * - FOREIGN_SOURCE: from an address other than the leg's peer (possible only until the socket is connected to it).
 * - PAYLOAD_TYPE: RTP in a format other than the leg's.
 * - NO_REMOTE: the leg does not know its peer yet and may not latch.
 * - LATCH_PROBATION: the leg may latch, and this packet's source has not yet passed probation.
 * - SSRC_PROBATION: from the peer's address, but another SSRC than the current one, on probation
 *   (a spoofer on the path, or a real change of source before it passed).
 */
/** Why a WebSocket leg dropped a message: before MEDIA_START, an empty frame, a control message it cannot use. */
export type WebSocketDropReason = 'BEFORE_MEDIA_START' | 'CONTROL_TOO_LONG' | 'CONTROL_UNKNOWN' | 'EMPTY';

export type LegDropReason =
  | RtpParseErrorCode
  | 'FOREIGN_SOURCE'
  | 'PAYLOAD_TYPE'
  | 'NO_REMOTE'
  | 'LATCH_PROBATION'
  | 'SSRC_PROBATION'
  | WebSocketDropReason;

export interface LegStats {
  transport: MediaTransport;
  /** RTP: the leg's UDP socket. WebSocket: this end of the TCP connection (null until connected). */
  local: UdpEndpoint | null;
  /** RTP: Asterisk's UNICASTRTP_LOCAL_ADDRESS/PORT. WebSocket: Asterisk's HTTP server address. */
  remote: UdpEndpoint | null;
  /** The socket is connected to `remote` (the kernel drops everyone else's datagrams). */
  connected: boolean;
  /** RTP: the leg may latch onto a source that passes probation while it has no remote. */
  latch: boolean;
  /** SSRC of the stream the leg accepts; null before any. */
  ssrc: number | null;
  /** Times the leg switched to another source after probation (a new SSRC or, latching, address). */
  sourceSwitches: number;
  /** RTP datagrams, or WebSocket binary frames of one 20 ms frame each. */
  rxPackets: number;
  rxBytes: number;
  /** Datagrams (or WebSocket messages) dropped before the jitter buffer, by reason (see LegDropReason); absent = none. */
  rxDropped: Partial<Record<LegDropReason, number>>;
  txPackets: number;
  txBytes: number;
  txErrors: number;
  txSkippedNotConnected: number;
  /** The leg's jitter buffer counters (see JitterStats). */
  jitter: JitterStats;
  /** True when the leg's audio feeds translation and its jitter buffer favours latency over continuity. */
  latencyFirst: boolean;
  /** True when the leg's frames also go to recognition as soon as they arrive (JitterBuffer.readEarly). */
  earlyReading: boolean;
  /** Failures of that early hand-over (each costs the frames of one arrival, never the socket). */
  earlyReaderErrors: number;
  /** WebSocket legs only. */
  websocket?: WebSocketLegCounters;
  /** Speech level (RMS dBFS, last ≈ 300 ms) and clipped samples of what the leg delivered; set by its pair. */
  level?: LegLevel;
}

export interface PairStats {
  pairId: string;
  extA: string;
  extB: string;
  codec: CodecName;
  legA: LegStats;
  legB: LegStats;
  recording?: { path: string; droppedMs: number };
  /**
   * Present once the pair's stages were replaced (new translation settings): swaps done at a direction's pause,
   * forced by the bound (STAGE_SWAP_MAX_WAIT_MS), failed to build, and directions still waiting for their pause.
   */
  stageSwaps?: { atPause: number; forced: number; failed: number; pending: number };
  /** Present when the pair is translated: settings summary and each direction's stage counters. */
  translation?: {
    languages: { A: string; B: string };
    provider: string;
    directions: Direction[];
    stages: Partial<Record<Direction, object>>;
  };
}

export interface ShardStats {
  shard: number;
  /** worker_threads threadId of the worker that owns this shard. */
  threadId: number;
  /** V8 heap in use by that worker, for leak checks under load. */
  heapUsedBytes: number;
  /** CPU time (user + system) the worker thread has used since it started, ms; null where unknown (not Linux). */
  cpuMs: number | null;
  /** The worker thread's nice value as configured and as applied (`error`: why not). */
  priority: ThreadPriority;
  pairs: number;
  sockets: number;
  ticks: number;
  lateTicks: number;
  maxTickLatenessMs: number;
  skippedTicks: number;
  /** How this shard's RTP legs reach the network (engine config `io`, resolved at start). */
  io: 'native' | 'dgram';
  /** The shard's shared batched RTP port (io 'native', once a pair used it); null otherwise. */
  sharedPort: SharedPortStats | null;
  pairStats: PairStats[];
  /** The worker's Silero VAD (all its translated streams); null until its first translated pair loads it. */
  vad: VadEngineStats | null;
}

/** Structured-clone-safe description of an error, so a worker's error keeps its name and code. */
export function toErrorPayload(err: unknown): ShardErrorPayload {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? { name: err.name, message: err.message, code } : { name: err.name, message: err.message };
  }
  return { name: 'Error', message: String(err) };
}
