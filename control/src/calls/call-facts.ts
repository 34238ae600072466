import type { CodecName, PairStats } from '../../../engine/src/index.js';
import type { TeardownReason } from './teardown-reason.js';

/** Whose side ended the call: the caller's channel, leg B's, or Tandem itself (a failure, a timer, shutdown). */
export type HangupBy = 'caller' | 'legb' | 'tandem';

/** Who ended the call when no channel event said so first. */
const HANGUP_BY_REASON: Record<TeardownReason, HangupBy> = {
  'caller-hangup': 'caller',
  'legb-hangup': 'legb',
  'legb-busy': 'legb',
  'legb-failed': 'legb',
  // Tandem's answer deadline; Asterisk's own originate timeout arrives as leg B's ChannelDestroyed (cause 19).
  'legb-no-answer': 'tandem',
  'originate-failed': 'tandem',
  'setup-failed': 'tandem',
  'external-media-lost': 'tandem',
  'engine-error': 'tandem',
  'missed-hangup': 'tandem',
  'lease-lost': 'tandem',
  shutdown: 'tandem',
};

/** Everything a call record says about one finished call, as CallPair observed it (epoch ms). */
export interface EndedCall {
  pairId: string;
  extA: string;
  extB: string;
  /** The caller's channel id: tells calls on the same pair apart (transcripts use it too). */
  callId: string;
  /** The caller's number (Stasis argument or caller id), when known. */
  caller: string | null;
  codec: CodecName;
  translated: boolean;
  startedAt: number;
  answeredAt: number | null;
  /** From start until the whole media path was up (null if it never was). */
  setupMs: number | null;
  endedAt: number;
  /** When teardown had released everything. */
  releasedAt: number;
  hangupBy: HangupBy;
  /** The Q.850 cause ARI gave for the channel that ended the call, when it gave one. */
  hangupCause: number | null;
  teardownReason: TeardownReason;
  /** The engine's final counters for the pair; null when the engine lost them (worker crash) or never opened the pair. */
  engine: PairStats | null;
}

/** What a call's record says besides the facts CallFacts gathers: who the call was, and its setup time. */
export type CallIdentity = Pick<EndedCall, 'pairId' | 'extA' | 'extB' | 'callId' | 'caller' | 'codec' | 'translated' | 'setupMs'>;

/**
 * What a call's record needs, filled in by CallPair where it handles each
 * event: start (the caller's StasisStart), leg B's answer, the first channel
 * that left (and its cause), the teardown reason, the engine's final stats.
 * The first value of each fact wins: later events never rewrite history.
 */
export class CallFacts {
  readonly startedAt: number;
  answeredAt: number | null = null;
  endedAt: number | null = null;
  releasedAt: number | null = null;
  hangupBy: HangupBy | null = null;
  hangupCause: number | null = null;
  teardownReason: TeardownReason | null = null;
  engine: PairStats | null = null;

  constructor(startedAt: number) {
    this.startedAt = startedAt;
  }

  answered(now = Date.now()): void {
    this.answeredAt ??= now;
  }

  /**
   * A party's channel is leaving (StasisEnd, ChannelHangupRequest or ChannelDestroyed).
   * The first to leave ended the call; a cause on a later event of that same
   * channel still fills in (Asterisk sends leg B's cause only on ChannelDestroyed).
   */
  partyLeft(party: 'caller' | 'legb', cause: number | null, now = Date.now()): void {
    if (this.endedAt === null) {
      this.endedAt = now;
      this.hangupBy = party;
    }
    if (this.hangupBy === party && this.hangupCause === null && cause !== null) this.hangupCause = cause;
  }

  /** Teardown began for `reason` (only the first reason counts). */
  ending(reason: TeardownReason, now = Date.now()): void {
    this.teardownReason ??= reason;
    this.endedAt ??= now;
    this.hangupBy ??= HANGUP_BY_REASON[reason];
  }

  released(now = Date.now()): void {
    this.releasedAt ??= now;
  }

  /** The call's record from these facts and who the call was; null until teardown has released everything. */
  endedCall(call: CallIdentity): EndedCall | null {
    if (this.endedAt === null || this.releasedAt === null || this.hangupBy === null || this.teardownReason === null) return null;
    return {
      pairId: call.pairId,
      extA: call.extA,
      extB: call.extB,
      callId: call.callId,
      caller: call.caller,
      codec: call.codec,
      translated: call.translated,
      startedAt: this.startedAt,
      answeredAt: this.answeredAt,
      setupMs: call.setupMs,
      endedAt: this.endedAt,
      releasedAt: this.releasedAt,
      hangupBy: this.hangupBy,
      hangupCause: this.hangupCause,
      teardownReason: this.teardownReason,
      engine: this.engine,
    };
  }
}
