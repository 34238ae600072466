/**
 * The shapes the node sends to the console: the one definition, imported by the server
 * (control/src/console) as well, so the two cannot drift. Types only: the server's build
 * erases the import.
 */
/** One leg of a live row: rates over the last sample interval, the rest as of now. */
export interface LiveLeg {
  ext: string;
  rxPps: number;
  txPps: number;
  /** Lost to the listener so far in this call, percent. */
  lossPct: number;
  jitterMs: number;
  depthMs: number;
  concealed: number;
  mos: number | null;
  /** Speech level now (RMS over ≈ 300 ms, dBFS; −96 = silence) and samples clipped at full scale so far. */
  levelDbfs: number;
  clipped: number;
}

/** One row of the calls page: a pair with a call on it. */
export interface LiveCall {
  pairId: string;
  callId: string;
  caller: string | null;
  extA: string;
  extB: string;
  state: string;
  startedAt: number;
  answeredAt: number | null;
  languages: { A: string; B: string } | null;
  legs: { A: LiveLeg; B: LiveLeg } | null;
}

export interface TimelineEntry {
  at: number;
  what: string;
}

export interface Transcript {
  pairId: string;
  callId: string | null;
  direction: string;
  srcExt: string;
  language: string;
  targetLanguage?: string;
  text: string;
  translatedText?: string | null;
  final: boolean;
  utteranceId?: string;
  at?: string;
}

export interface CallRecord {
  id: string;
  pairId: string;
  callId: string;
  extA: string;
  extB: string;
  caller: string | null;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  setupMs: number | null;
  hangupBy: string;
  hangupCause: number | null;
  teardownReason: string;
  codec: string;
  translated: boolean;
  mosA: number | null;
  mosB: number | null;
  legs: Record<string, { rxPackets: number; lossPct: number; jitterMeanMs: number; mos: number | null }> | null;
  /** The finished recording on the node that made it; null when none (yet). */
  recording: { format: 'wav' | 'opus'; bytes: number; durationMs: number } | null;
}

/** The node page's sample. */
export interface NodeStatus {
  at: number;
  uptimeS: number;
  /** Main-thread CPU since the previous status, percent of one core. */
  cpuPct: number;
  rssBytes: number;
  /** Main event-loop delay since the previous status: mean, p99 and max, ms. */
  eventLoopLagMs: { mean: number; p99: number; max: number };
  workers: Array<{ shard: number; pairs: number; sockets: number; heapUsedBytes: number; lateTicks: number; maxTickLatenessMs: number }>;
  pairs: number;
  links: Record<string, boolean>;
}
