import { seqDiff, tsAdd, tsDiff } from '../rtp/wrap.js';
import { FRAME_MS } from './options.js';

/**
 * Decides when a packet that does not fit the current stream (another SSRC, or a sequence/timestamp jump beyond
 * resyncJumpMs) starts a new stream, and when it is only late: a reordered straggler of the stream a resync just
 * replaced, or a lone stray on the stream's own SSRC (RFC 3550 A.1 probation).
 */
export class ResyncDetector {
  readonly #resyncJumpMs: number;
  /** RTP timestamp units per 20 ms frame. */
  readonly #frameUnits: number;
  readonly #unitsPerMs: number;
  /** The stream a resync replaced, so its reordered stragglers are dropped instead of resyncing back. */
  #previousSsrc = 0;
  #previousHighestSeq = 0;
  #previousUntilMs = Number.NEGATIVE_INFINITY;
  /** Sequence of a lone same-SSRC packet far from the stream, on probation (RFC 3550 A.1); -1 = none. */
  #jumpCandidate = -1;

  constructor(clockRate: number, resyncJumpMs: number) {
    this.#resyncJumpMs = resyncJumpMs;
    this.#unitsPerMs = clockRate / 1000;
    this.#frameUnits = this.#unitsPerMs * FRAME_MS;
  }

  /** A sequence or timestamp step from the stream's newest packet that no reordering within the depth window can explain. */
  isJump(highestSeq: number, highestTs: number, seq: number, ts: number): boolean {
    const d = seqDiff(highestSeq, seq);
    const limitMs = this.#resyncJumpMs;
    if (Math.abs(d) * FRAME_MS > limitMs) return true;
    const expected = tsAdd(highestTs, d * this.#frameUnits);
    return Math.abs(tsDiff(expected, ts)) / this.#unitsPerMs > limitMs;
  }

  /**
   * For a packet that broke the stream (SSRC change or jump): 'late' when it is a straggler of the replaced stream
   * (within `stragglerWindow` sequences) or a stray on probation; 'resync' when it begins a new stream, in which case
   * the current one (`streamSsrc`, `streamHighestSeq`) is remembered as replaced.
   */
  judgeBreak(
    ssrc: number,
    seq: number,
    nowMs: number,
    streamSsrc: number,
    streamHighestSeq: number,
    stragglerWindow: number,
  ): 'late' | 'resync' {
    if (this.#isStraggler(ssrc, seq, nowMs, stragglerWindow)) return 'late';
    // RFC 3550 A.1 probation: on the same SSRC, one packet far from the stream is a
    // stray (a stale duplicate, a misrouted packet) and must not throw the stream
    // away; a second packet in sequence with it is a new stream.
    const seqGapMs = Math.abs(seqDiff(streamHighestSeq, seq)) * FRAME_MS;
    if (ssrc === streamSsrc && seqGapMs > this.#resyncJumpMs && seq !== ((this.#jumpCandidate + 1) & 0xffff)) {
      this.#jumpCandidate = seq;
      return 'late';
    }
    this.#previousSsrc = streamSsrc;
    this.#previousHighestSeq = streamHighestSeq;
    this.#previousUntilMs = nowMs + this.#resyncJumpMs;
    return 'resync';
  }

  /** A stream began: no stray is on probation against it yet. */
  streamStarted(): void {
    this.#jumpCandidate = -1;
  }

  /** Forgets the replaced stream (a reset buffer has none). */
  reset(): void {
    this.#previousUntilMs = Number.NEGATIVE_INFINITY;
  }

  /** A reordered packet of the stream a resync just replaced (bounded in time, so a sender that returns still can). */
  #isStraggler(ssrc: number, seq: number, nowMs: number, window: number): boolean {
    return nowMs <= this.#previousUntilMs && ssrc === this.#previousSsrc && Math.abs(seqDiff(this.#previousHighestSeq, seq)) <= window;
  }
}
