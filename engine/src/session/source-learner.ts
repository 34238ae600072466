/**
 * Which RTP source a leg listens to: strict RTP as Asterisk does it
 * (res_rtp_asterisk's learning mode, rtp.conf `strictrtp=yes` / `probation`),
 * applied per leg to the source address *and* SSRC.
 *
 * A leg has at most one current source. Packets from it are accepted. Any other
 * source (another SSRC from the same address, or, while a leg may latch,
 * another address) is a candidate on probation: it must send `packets`
 * consecutive sequence numbers, with no packet from the current source in
 * between (each one restarts every candidate's count, as in Asterisk), before
 * the leg switches to it. Packets on probation are not accepted (the caller
 * drops and counts them), so they never reach the jitter buffer.
 *
 * Pace: Asterisk also restarts a run whose packets came faster than a real
 * stream (learning_min_duration: the whole run must span (packets - 1) × 9 - 5
 * ms). Here each packet of the run must come at least `minGapMs` after the one
 * before it. On a connected leg a spoofer shares the stream's exact 5-tuple, so
 * its packets queue in the kernel in the order they were sent; a span rule is
 * fooled by one stall of the receiving thread in the middle of a run (the span
 * grows although the packets were sent 5 ms apart), while a stall only bunches
 * the packets queued behind it, which a per-packet gap rejects. 4 × 8 ms gaps
 * (24 ms) is at least Asterisk's 22 ms, and more than a spoofer can fit between
 * two packets of a 20 ms stream.
 *
 * Silence: while the current source is alive it keeps its place. A candidate
 * that has passed its count takes over only once the current source has sent
 * nothing for `minSilenceMs` (100 ms: five packets of a 20 ms stream). Without
 * this, a spoofer pacing itself at just over the gap would win at the first
 * hole jitter leaves between two real packets, and then lock the real stream
 * out (each of its packets restarts the real stream's count).
 *
 * So a spoofer with valid headers never wins while the real stream flows, and a
 * source that really changed (Asterisk's SSRC after a masquerade, the stream
 * that replaces a stopped one) takes over after `packets` packets and 100 ms.
 * What strict RTP cannot do is tell a forged 5-tuple from the real one while
 * the real stream pauses (hold, mute): only SRTP can.
 *
 * A pure, synchronous state machine: the clock is injected, nothing allocates
 * per packet (candidates live in a preallocated table).
 */

/** 'accept': from the current source. 'switch': this packet made its source current. 'probation': not (yet) accepted. */
export type SourceVerdict = 'accept' | 'switch' | 'probation';

export interface SourceLearnerOptions {
  /** Consecutive packets a new source must send before it is accepted (Asterisk's `probation`, default 4). */
  packets: number;
  /**
   * Least time between two counted packets of a candidate (default 8 ms: a
   * 10 ms stream passes with room for jitter): a consecutive packet sooner than
   * that is a flood and starts the count again from itself.
   */
  minGapMs?: number;
  /** How long the current source must have been silent before a candidate takes over (default 100 ms). */
  minSilenceMs?: number;
}

export const DEFAULT_MIN_GAP_MS = 8;
export const DEFAULT_MIN_SILENCE_MS = 100;

/**
 * Sources tracked on probation at once. When the table is full the candidate
 * furthest from passing goes first (the least recently heard of those): a
 * spray of random sequence numbers never progresses, so it cannot push out a
 * real stream that is counting down. A spray from more addresses than this,
 * faster than the real stream, can still delay a latch: latching is for
 * engines nobody tells where their peer is (docs/media-sources.md).
 */
const CANDIDATE_SLOTS = 8;

interface Candidate {
  active: boolean;
  ssrc: number;
  address: string;
  port: number;
  maxSeq: number;
  /** Packets still to come before this source is accepted. */
  remaining: number;
  /** Last packet seen from this source (the least recent candidate is replaced when the table is full). */
  lastMs: number;
}

export class SourceLearner {
  readonly packets: number;
  readonly minGapMs: number;
  readonly minSilenceMs: number;
  readonly #candidates: Candidate[];
  #hasCurrent = false;
  #ssrc = 0;
  #address = '';
  #port = 0;
  /** Arrival of the current source's last packet. */
  #currentLastMs = 0;
  /** The next source seen becomes current at once (its address was given by the control plane). */
  #trustFirst: boolean;
  /** Some candidate is active (so the steady state, the current source's packets, skips clearing the table). */
  #learning = false;
  #switches = 0;

  constructor(options: SourceLearnerOptions, trustFirst = false) {
    if (!Number.isInteger(options.packets) || options.packets < 1) {
      throw new RangeError(`packets must be an integer >= 1, got ${String(options.packets)}`);
    }
    const minGapMs = options.minGapMs ?? DEFAULT_MIN_GAP_MS;
    if (!(minGapMs >= 0)) throw new RangeError(`minGapMs must be >= 0, got ${String(minGapMs)}`);
    const minSilenceMs = options.minSilenceMs ?? DEFAULT_MIN_SILENCE_MS;
    if (!(minSilenceMs >= 0)) throw new RangeError(`minSilenceMs must be >= 0, got ${String(minSilenceMs)}`);
    this.packets = options.packets;
    this.minGapMs = minGapMs;
    this.minSilenceMs = minSilenceMs;
    this.#trustFirst = trustFirst;
    this.#candidates = Array.from({ length: CANDIDATE_SLOTS }, () => ({
      active: false,
      ssrc: 0,
      address: '',
      port: 0,
      maxSeq: 0,
      remaining: 0,
      lastMs: 0,
    }));
  }

  /** SSRC of the current source; null before any. */
  get ssrc(): number | null {
    return this.#hasCurrent ? this.#ssrc : null;
  }

  /** Times a source other than the first became current. */
  get switches(): number {
    return this.#switches;
  }

  /**
   * Forgets the current source and every candidate. `trustFirst`: the next
   * source seen is accepted at once (the control plane has just said where the
   * peer is, and the socket hears nobody else); otherwise it is on probation too.
   */
  restart(trustFirst: boolean): void {
    this.#hasCurrent = false;
    this.#trustFirst = trustFirst;
    this.#clearCandidates();
  }

  /** One packet's verdict; `seq` is its 16-bit sequence number, `nowMs` its arrival. */
  observe(ssrc: number, seq: number, nowMs: number, address: string, port: number): SourceVerdict {
    const s = ssrc >>> 0;
    if (this.#hasCurrent && s === this.#ssrc && port === this.#port && address === this.#address) {
      // Asterisk: traffic from the current source restarts the learning of any new one.
      if (this.#learning) this.#clearCandidates();
      this.#currentLastMs = nowMs;
      return 'accept';
    }
    if (!this.#hasCurrent && this.#trustFirst) {
      this.#trustFirst = false;
      this.#setCurrent(s, address, port, nowMs);
      return 'accept';
    }
    return this.#probation(s, seq & 0xffff, nowMs, address, port);
  }

  #probation(ssrc: number, seq: number, nowMs: number, address: string, port: number): SourceVerdict {
    const candidate = this.#candidateFor(ssrc, address, port, nowMs);
    if (candidate.active && seq === ((candidate.maxSeq + 1) & 0xffff) && nowMs - candidate.lastMs >= this.minGapMs) {
      candidate.remaining--;
    } else {
      // A new source, a break in its sequence, or a flood (consecutive, faster than a real
      // stream sends): this packet is the first of a new run.
      candidate.active = true;
      this.#learning = true;
      candidate.remaining = this.packets - 1;
    }
    candidate.maxSeq = seq;
    candidate.lastMs = nowMs;
    if (candidate.remaining > 0) return 'probation';
    // Counted out, but the current source spoke too recently: its next packet restarts this count.
    if (this.#hasCurrent && nowMs - this.#currentLastMs < this.minSilenceMs) return 'probation';
    if (this.#hasCurrent) this.#switches++;
    this.#setCurrent(ssrc, address, port, nowMs);
    this.#trustFirst = false;
    this.#clearCandidates();
    return 'switch';
  }

  /** The slot tracking this source; else a free one, or the one furthest from passing, reset for it. */
  #candidateFor(ssrc: number, address: string, port: number, nowMs: number): Candidate {
    let free: Candidate | null = null;
    let victim: Candidate | null = null;
    for (const c of this.#candidates) {
      if (c.active) {
        if (c.ssrc === ssrc && c.port === port && c.address === address) return c;
        if (victim === null || c.remaining > victim.remaining || (c.remaining === victim.remaining && c.lastMs < victim.lastMs)) victim = c;
      } else {
        free ??= c;
      }
    }
    const slot = (free ?? victim) as Candidate;
    slot.active = false;
    slot.ssrc = ssrc;
    slot.address = address;
    slot.port = port;
    slot.lastMs = nowMs;
    return slot;
  }

  #setCurrent(ssrc: number, address: string, port: number, nowMs: number): void {
    this.#hasCurrent = true;
    this.#ssrc = ssrc;
    this.#address = address;
    this.#port = port;
    this.#currentLastMs = nowMs;
  }

  #clearCandidates(): void {
    for (const c of this.#candidates) c.active = false;
    this.#learning = false;
  }
}
