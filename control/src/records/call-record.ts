import { randomUUID } from 'node:crypto';
import type { CodecName, LegStats, PairStats } from '../../../engine/src/index.js';
import type { EndedCall, HangupBy, TeardownReason } from '../calls/index.js';
import { estimateCallQuality } from './e-model.js';

/** One leg of a call as its record keeps it: what Tandem received on it, sent on it, and how that audio played. */
export interface CallLegRecord {
  /** The extension on this leg's side (EXT_A for leg A, EXT_B for leg B). */
  ext: string;
  /** Datagrams and bytes (RTP header included) received from Asterisk on this leg. */
  rxPackets: number;
  rxBytes: number;
  /** … and sent to Asterisk on it (the other party's audio). */
  txPackets: number;
  txBytes: number;
  txErrors: number;
  /** Datagrams dropped before the jitter buffer, by reason (parse error codes, FOREIGN_SOURCE, PAYLOAD_TYPE, …). */
  dropped: Record<string, number>;
  /** Frames of this leg's stream played out toward the other party. */
  played: number;
  /** Frames the play head passed that never arrived in time (network loss and late packets). */
  lost: number;
  /** lost + overflow + decodeErrors as a percentage of every frame playout used: the loss the listener heard. */
  lossPct: number;
  late: number;
  duplicates: number;
  reordered: number;
  /** Repeat-and-fade frames played in place of missing ones. */
  concealed: number;
  /** Frames dropped to keep the buffer within its maximum depth. */
  overflow: number;
  /** Frames dropped one at a time to bring a grown buffer back to its target. */
  accelerated: number;
  decodeErrors: number;
  resyncs: number;
  /** RFC 3550 interarrival jitter estimate: mean over the call and peak. */
  jitterMeanMs: number;
  jitterMaxMs: number;
  /** Audio waiting in the jitter buffer at each playout tick (the frame about to play included): mean and peak. */
  depthMeanMs: number;
  depthMaxMs: number;
  /** One-way delay the quality estimate assumes: packetization plus mean jitter-buffer depth. */
  delayMs: number;
  /** E-model rating and MOS of this leg's audio as the other party hears it; null when none was played. */
  r: number | null;
  mos: number | null;
  /** Stage counters of the translation this leg's audio fed (translated calls only). */
  translation?: object;
}

/** One finished call: who, when, how it ended, and the quality of each leg. */
/** A call's recording as its record keeps it (docs/recordings.md): the finished file on the node that recorded it. */
export interface CallRecording {
  /** Absolute path on the recording node (under its TANDEM_RECORD_DIR). */
  path: string;
  /** 'opus' (Ogg/Opus, two stereo streams) or 'wav' (4-channel PCM). */
  format: 'wav' | 'opus';
  /** File size. */
  bytes: number;
  /** Length of the audio, whole milliseconds. */
  durationMs: number;
}

export interface CallRecord {
  /** A random UUID. */
  id: string;
  pairId: string;
  /** The caller's channel id (Asterisk's uniqueid): tells calls on the same pair apart. */
  callId: string;
  extA: string;
  extB: string;
  /** The caller's number, when known. */
  caller: string | null;
  /** The Tandem node that served the call. */
  node: string;
  /** The caller's StasisStart. */
  startedAt: string;
  /** Leg B answered (its StasisStart); null if it never did. */
  answeredAt: string | null;
  /** The call ended: the first hangup, or the moment Tandem decided to end it. */
  endedAt: string;
  durationMs: number;
  /** From leg B's answer to the end (what a billing system bills); null if unanswered. */
  talkMs: number | null;
  /** From start until the whole media path was up; null if it never was. */
  setupMs: number | null;
  /** From the end until every channel, bridge, engine socket and the lease were released. */
  teardownMs: number;
  hangupBy: HangupBy;
  /** Q.850 cause ARI reported for the channel that ended the call (e.g. 16 normal, 17 busy, 19 no answer); null when none. */
  hangupCause: number | null;
  teardownReason: TeardownReason;
  codec: CodecName;
  translated: boolean;
  /** MOS of leg A's audio (the caller's voice as leg B hears it) and of leg B's (as the caller hears it). */
  mosA: number | null;
  mosB: number | null;
  /** Null when the engine's counters were lost (worker crash) or the pair never opened. */
  legs: { A: CallLegRecord; B: CallLegRecord } | null;
  /**
   * The call's recording once its file is complete; null while it is not (yet), or when the call was not
   * recorded. It is usually filled in after the record was first stored (Opus encoding takes a moment).
   */
  recording: CallRecording | null;
}

/** Each RTP packet carries 20 ms: the sender holds one frame's worth of audio before it can send it. */
const PACKETIZATION_MS = 20;

/**
 * The record of a finished call. MOS per leg comes from the ITU-T G.107
 * E-model (e-model.ts) with the codec, the loss the listener heard and a
 * one-way delay of packetization + mean jitter-buffer depth. The rest of the
 * path (the phones, their networks, Asterisk's own buffering) is invisible to
 * Tandem and not in the estimate: it rates the leg as far as Tandem sees it,
 * which is what tells a good call from a bad one on the same system.
 */
export function buildCallRecord(call: EndedCall, context: { node: string; id?: string }): CallRecord {
  const legs = call.engine === null ? null : legRecords(call.engine, call.codec);
  return {
    id: context.id ?? randomUUID(),
    pairId: call.pairId,
    callId: call.callId,
    extA: call.extA,
    extB: call.extB,
    caller: call.caller,
    node: context.node,
    startedAt: iso(call.startedAt),
    answeredAt: call.answeredAt === null ? null : iso(call.answeredAt),
    endedAt: iso(call.endedAt),
    durationMs: Math.max(0, call.endedAt - call.startedAt),
    talkMs: call.answeredAt === null ? null : Math.max(0, call.endedAt - call.answeredAt),
    setupMs: call.setupMs,
    teardownMs: Math.max(0, call.releasedAt - call.endedAt),
    hangupBy: call.hangupBy,
    hangupCause: call.hangupCause,
    teardownReason: call.teardownReason,
    codec: call.codec,
    translated: call.translated,
    mosA: legs?.A.mos ?? null,
    mosB: legs?.B.mos ?? null,
    legs,
    recording: null,
  };
}

/**
 * What a record keeps of the engine's recording summary; null for a file that holds nothing (it could not
 * be opened). Whole numbers, as the columns are.
 */
export function callRecording(summary: { path: string; format: 'wav' | 'opus'; bytes: number; durationMs: number }): CallRecording | null {
  if (summary.bytes <= 0) return null;
  return { path: summary.path, format: summary.format, bytes: Math.round(summary.bytes), durationMs: Math.round(summary.durationMs) };
}

function legRecords(stats: PairStats, codec: CodecName): { A: CallLegRecord; B: CallLegRecord } {
  const stages = stats.translation?.stages;
  return {
    A: legRecord(stats.extA, stats.legA, codec, stages?.['A->B']),
    B: legRecord(stats.extB, stats.legB, codec, stages?.['B->A']),
  };
}

/** One leg's counters and its quality estimate. */
export function legRecord(ext: string, leg: LegStats, codec: CodecName, translation?: object): CallLegRecord {
  const j = leg.jitter;
  const missing = j.lost + j.overflow + j.decodeErrors;
  // Every sequence number playout used: played, missing, or shed on purpose (accelerated).
  const used = j.played + missing + j.accelerated;
  const lossPct = used === 0 ? 0 : (100 * missing) / used;
  const delayMs = PACKETIZATION_MS + j.depthMeanMs;
  const quality = used === 0 ? null : estimateCallQuality({ codec, lossPct, oneWayDelayMs: delayMs });
  return {
    ext,
    rxPackets: leg.rxPackets,
    rxBytes: leg.rxBytes,
    txPackets: leg.txPackets,
    txBytes: leg.txBytes,
    txErrors: leg.txErrors,
    dropped: { ...leg.rxDropped },
    played: j.played,
    lost: j.lost,
    lossPct: round(lossPct, 3),
    late: j.late,
    duplicates: j.duplicate,
    reordered: j.reordered,
    concealed: j.concealed,
    overflow: j.overflow,
    accelerated: j.accelerated,
    decodeErrors: j.decodeErrors,
    resyncs: j.resyncs,
    jitterMeanMs: round(j.jitterMeanMs, 2),
    jitterMaxMs: round(j.jitterMaxMs, 2),
    depthMeanMs: round(j.depthMeanMs, 2),
    depthMaxMs: round(j.depthMaxMs, 2),
    delayMs: round(delayMs, 2),
    r: quality === null ? null : round(quality.R, 1),
    mos: quality === null ? null : round(quality.mos, 2),
    ...(translation !== undefined ? { translation } : {}),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
