import { seqDiff, tsAdd, tsDiff } from '../rtp/wrap.js';
import { Concealer } from './concealer.js';
import { ArrivalLateness } from './arrival-lateness.js';
import { FrameRing } from './frame-ring.js';
import { InterarrivalJitter } from './interarrival-jitter.js';
import { FRAME_MS, validateJitterOptions, type JitterBufferOptions } from './options.js';

/**
 * What push() needs from a packet. An RtpPacketView satisfies it. The buffer keeps a reference to `buffer` (no copy):
 * the caller must not reuse that memory until the frame has been popped or dropped (dgram hands out a fresh Buffer per
 * datagram). The packet object itself is not kept, so a reused view object is fine.
 */
export interface JitterPacket {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
  readonly buffer: Uint8Array;
  readonly payloadOffset: number;
  readonly payloadLength: number;
}

/** Decodes one encoded payload into PCM; returns the number of samples written (a codec's decode function fits). */
export type FrameDecoder = (src: Uint8Array, srcOffset: number, length: number, dst: Int16Array) => number;

/**
 * 'accepted': stored for playout. 'duplicate': that sequence is already stored. 'late': at/behind the play head (or a
 * straggler of the stream a resync just replaced). 'resync': a new stream began with this packet (SSRC change or a jump
 * beyond resyncJumpMs); the old one was flushed. 'overflow': stored, but older frames were dropped to stay within
 * maxDepthMs.
 */
export type PushOutcome = 'accepted' | 'duplicate' | 'late' | 'resync' | 'overflow';

/**
 * 'audio' = a real frame decoded into out; 'concealed' = the last frame repeated with fading gain; 'silence' = zeros
 * after concealment; 'waiting' = not started / prefilling / idle: nothing written, the sender should send nothing this tick.
 */
export type PopResult = 'audio' | 'concealed' | 'silence' | 'waiting';

export interface JitterStats {
  /** Every push. */
  received: number;
  /** Sequence numbers the play head passed that never arrived (counted once each). */
  lost: number;
  /** Packets at/behind the play head, or stragglers of a replaced stream. */
  late: number;
  duplicate: number;
  /** Packets stored although a newer one had arrived before them (late ones are in `late` only). */
  reordered: number;
  /** Repeat-and-fade frames output ('concealed' results, not 'silence'). */
  concealed: number;
  resyncs: number;
  /** Stored frames dropped at push time to keep depth within maxDepthMs. */
  overflow: number;
  /** 'audio' results. */
  played: number;
  /** Stored frames dropped one at a time by the slow shrink toward the target depth (not in `overflow`). */
  accelerated: number;
  /** Stored frames discarded unplayed when a stream ended (idle) or was replaced (resync). */
  flushed: number;
  /** Stored frames the decoder threw on (or returned a bad count for); concealed instead. */
  decodeErrors: number;
  /** Audio buffered ahead of the play head: span from head to newest frame, gaps included. */
  depthMs: number;
  /** Current adaptive target depth. */
  targetMs: number;
  /** RFC 3550 interarrival jitter estimate, in ms. */
  jitterMs: number;
  /** Mean of jitterMs over every arrival the estimate saw (the stream's typical jitter, for call records). */
  jitterMeanMs: number;
  /** Highest jitterMs so far. */
  jitterMaxMs: number;
  /** Mean depth (as depthMs, before the frame is taken) over the ticks that played or concealed: the buffering delay. */
  depthMeanMs: number;
  /** Highest depth any such tick saw. */
  depthMaxMs: number;
}

const STATE_WAITING = 0; // no stream, or prefilling before the first frame of a stream
const STATE_PLAYING = 1;
const STATE_REBUFFERING = 2; // underrun inside a stream: output continues (concealment) while depth rebuilds
type PlayState = typeof STATE_WAITING | typeof STATE_PLAYING | typeof STATE_REBUFFERING;

/** k in target = frame + k·J: J is about 1.1 σ of transit variation, so 3·J covers the bulk of late arrivals. */
const JITTER_MULTIPLIER = 3;
/** k·J may exceed a whole frame by this fraction before the target rounds up another frame (clock noise is not jitter). */
const ROUNDING_SLACK_FRAMES = 0.25;
/** The target drops one frame per this long with the jitter estimate below it: grow fast, shrink slowly. */
const TARGET_SHRINK_HOLD_MS = 2000;
/**
 * Depth must stay above target at every tick for this long before one frame is dropped (at most one drop per
 * period: ~4 % speed-up, rarely audible). The hold is the hysteresis: a depth that dips back to target resets it.
 */
const ACCELERATE_HOLD_MS = 500;
/** The same hold on a latency-first leg (audio for recognition, not for a listener): a surplus is gone in 3 ticks. */
const LATENCY_FIRST_HOLD_MS = 60;
/** Extended sequence of a stream's first packet: keeps extended numbers positive when earlier packets follow. */
const EXT_BASE = 1 << 16;

/**
 * A jitter buffer for one incoming RTP stream: a pure, synchronous state machine (no sockets, timers or clock of its
 * own; `nowMs` is injected). The worker calls `push` for every received packet and `pop` on its 20 ms playout tick.
 *
 * Packets are stored by sequence number in a preallocated ring and played strictly in sequence order, one per pop.
 * Playout starts once the buffered span reaches the adaptive target (or the first frame has waited that long); a
 * missing frame is concealed by repeat-and-fade, then silence. The target follows the RFC 3550 jitter estimate, grows
 * at once (also by a frame per underrun) and shrinks a frame at a time; surplus depth is shed one frame per 500 ms.
 * Modelled on pion/interceptor's jitterbuffer (sequence-keyed store, buffering/emitting states) with NetEQ's ideas of
 * an adaptive target, expand (concealment) and accelerate (dropping surplus frames).
 */
export class JitterBuffer {
  readonly #decode: FrameDecoder;
  readonly #options: Required<JitterBufferOptions>;
  readonly #frameSamples: number;
  /** RTP timestamp units per 20 ms frame. */
  readonly #frameUnits: number;
  readonly #unitsPerMs: number;
  /** Most frames ever held between the play head and the newest frame (maxDepthMs in whole frames). */
  readonly #maxFrames: number;
  readonly #maxTargetMs: number;
  readonly #ring: FrameRing;
  readonly #jitter: InterarrivalJitter;
  readonly #lateness: ArrivalLateness;
  /** ArrivalLateness of the packet being pushed (set by #observeArrival). */
  #arrivalLatenessMs = 0;
  readonly #concealer: Concealer;
  readonly #stats: JitterStats;

  #state: PlayState = STATE_WAITING;
  #hasStream = false;
  #ssrc = 0;
  /** Extended sequence of the next frame to play. */
  #headExt = 0;
  #highestExt = 0;
  #highestSeq = 0;
  #highestTs = 0;
  #lastArrivalMs = 0;
  /** Arrival of the first frame stored while not playing: bounds how long a prefill can wait. */
  #prefillSinceMs = 0;
  /** Ticks concealed during a rebuffer without consuming a sequence number: missing frames they stood in for. */
  #owedTicks = 0;
  #targetMs: number;
  #jitterTargetMs: number;
  #shrinkSinceMs = -1;
  #overSinceMs = -1;
  #lastPlayedTimestamp = 0;
  #lastPlayedArrivalMs = Number.NaN;
  #talkspurtStart = false;
  #talkspurtPending = false;
  /** The stream a resync replaced, so its reordered stragglers are dropped instead of resyncing back. */
  #previousSsrc = 0;
  #previousHighestSeq = 0;
  #previousUntilMs = Number.NEGATIVE_INFINITY;
  /** Sequence of a lone same-SSRC packet far from the stream, on probation (RFC 3550 A.1); -1 = none. */
  #jumpCandidate = -1;
  #latencyFirst = false;
  #earlyReading = false;
  /** Extended sequence of the next frame readEarly hands over (clamped up to the play head when used). */
  #earlyExt = 0;
  #lastEarlyArrivalMs = Number.NaN;
  #lastEarlyTimestamp = 0;
  #lastEarlyLatenessMs = 0;
  #lastPlayedLatenessMs = 0;
  #lastPopReadEarly = false;
  /** Running sums behind jitterMeanMs / depthMeanMs: two additions per sample, nothing allocated. */
  #jitterSumMs = 0;
  #jitterSamples = 0;
  #depthSumMs = 0;
  #depthSamples = 0;

  constructor(decode: FrameDecoder, options: JitterBufferOptions) {
    if (typeof decode !== 'function') throw new TypeError('decode must be a function');
    this.#decode = decode;
    this.#options = validateJitterOptions(options);
    this.#frameSamples = this.#options.frameSamples;
    this.#unitsPerMs = this.#options.clockRate / 1000;
    this.#frameUnits = this.#unitsPerMs * FRAME_MS;
    this.#maxFrames = Math.floor(this.#options.maxDepthMs / FRAME_MS);
    this.#maxTargetMs = this.#maxFrames * FRAME_MS;
    this.#ring = new FrameRing(this.#options.capacityFrames);
    this.#jitter = new InterarrivalJitter(this.#options.clockRate);
    this.#lateness = new ArrivalLateness(this.#options.clockRate);
    this.#concealer = new Concealer(this.#frameSamples, this.#options.concealFrames);
    this.#targetMs = this.#options.minDepthMs;
    this.#jitterTargetMs = this.#options.minDepthMs;
    this.#stats = {
      received: 0,
      lost: 0,
      late: 0,
      duplicate: 0,
      reordered: 0,
      concealed: 0,
      resyncs: 0,
      overflow: 0,
      played: 0,
      accelerated: 0,
      flushed: 0,
      decodeErrors: 0,
      depthMs: 0,
      targetMs: this.#targetMs,
      jitterMs: 0,
      jitterMeanMs: 0,
      jitterMaxMs: 0,
      depthMeanMs: 0,
      depthMaxMs: 0,
    };
  }

  /** A live object, updated by every push and pop (not copied per call). */
  get stats(): Readonly<JitterStats> {
    return this.#stats;
  }

  /** RTP timestamp (source clock) of the frame last returned by pop; unchanged by ticks that consume no sequence. */
  get lastPlayedTimestamp(): number {
    return this.#lastPlayedTimestamp;
  }

  /** When the frame last taken from the buffer for playout arrived (push's nowMs); NaN before any. */
  get lastPlayedArrivalMs(): number {
    return this.#lastPlayedArrivalMs;
  }

  /** True when the last 'audio' frame popped began a talkspurt (marker bit, or first after waiting/resync). */
  get talkspurtStart(): boolean {
    return this.#talkspurtStart;
  }

  /** Frames stored and not yet played or dropped. */
  get bufferedFrames(): number {
    return this.#ring.count;
  }

  /** The validated options, defaults filled in. */
  get options(): Readonly<Required<JitterBufferOptions>> {
    return this.#options;
  }

  /**
   * Latency first, for a stream that feeds recognition rather than a listener: a surplus of even one frame above
   * target is shed after LATENCY_FIRST_HOLD_MS, and a lone underrun conceals without raising the target (the
   * jitter estimate still does). Off by default: where a listener hears the stream, keeping that frame trades
   * 20 ms for continuity, and on a busy box such a surplus comes and goes with every late tick (shedding it cost
   * 5× the loss at 800 pairs: 0.13–0.15 % against 0.02–0.035 %). On, a single late packet no longer adds 20 ms
   * to every later utterance of the call. With early reading the recogniser no longer waits for playout, except
   * behind a lost frame: there it waits until playout gives up on the frame, which a lower target makes sooner.
   */
  setLatencyFirst(on: boolean): void {
    this.#latencyFirst = on;
  }

  get latencyFirst(): boolean {
    return this.#latencyFirst;
  }

  /**
   * Early reading, for a stream that feeds recognition: readEarly hands over each stored frame in sequence order
   * as soon as it is there, without waiting for playout. The jitter buffer's wait protects a listener from gaps;
   * a recogniser buffers for itself, so for it that wait is only delay. Playout (pop) is unchanged and says of
   * each frame whether the early reader already had it (lastPopReadEarly), so a reader of both takes each once.
   */
  setEarlyReading(on: boolean): void {
    if (on && !this.#earlyReading) this.#lateness.restart();
    this.#earlyReading = on;
    this.#earlyExt = this.#headExt;
  }

  get earlyReading(): boolean {
    return this.#earlyReading;
  }

  /**
   * Decodes the next frame in sequence into `out` if it is stored and not yet read; false when it has not
   * arrived (a later frame waits behind the gap until playout passes it). Frames come strictly in sequence
   * order, each at most once. Never touches playout state.
   */
  readEarly(out: Int16Array): boolean {
    if (!this.#earlyReading || !this.#hasStream) return false;
    if (this.#earlyExt < this.#headExt) this.#earlyExt = this.#headExt;
    const ring = this.#ring;
    while (ring.has(this.#earlyExt)) {
      const ext = this.#earlyExt++;
      if (ring.readEarlyOf(ext)) continue;
      ring.markReadEarly(ext);
      const buffer = ring.bufferOf(ext);
      let samples = -1;
      if (buffer !== null) {
        try {
          samples = this.#decode(buffer, ring.offsetOf(ext), ring.lengthOf(ext), out);
        } catch {
          samples = -1;
        }
      }
      // Playout counts the decode error; the early reader gets silence in that frame's place.
      if (!(samples >= 0)) samples = 0;
      if (samples < this.#frameSamples) out.fill(0, samples, this.#frameSamples);
      this.#lastEarlyArrivalMs = ring.arrivalOf(ext);
      this.#lastEarlyLatenessMs = ring.latenessOf(ext);
      this.#lastEarlyTimestamp = ring.timestampOf(ext);
      return true;
    }
    return false;
  }

  /** Arrival (push's nowMs) of the frame readEarly last returned. */
  get lastEarlyArrivalMs(): number {
    return this.#lastEarlyArrivalMs;
  }

  /** How late the frame readEarly last returned arrived against its stream's timing (see ArrivalLateness; early reading only). */
  get lastEarlyLatenessMs(): number {
    return this.#lastEarlyLatenessMs;
  }

  /** The same for the frame pop last took from the buffer. */
  get lastPlayedLatenessMs(): number {
    return this.#lastPlayedLatenessMs;
  }

  /** RTP timestamp of the frame readEarly last returned. */
  get lastEarlyTimestamp(): number {
    return this.#lastEarlyTimestamp;
  }

  /**
   * True when the frame pop last returned was already handed over by readEarly, or skipped by it (a frame that
   * arrived, before playout began, after a later one had been handed over). Concealment is never read early:
   * it stands for time that passed without audio, which a recogniser should hear as it did before (a late frame
   * that follows its own concealment stretches that timeline by a frame, as it stretches playout).
   */
  get lastPopReadEarly(): boolean {
    return this.#lastPopReadEarly;
  }

  push(packet: JitterPacket, nowMs: number): PushOutcome {
    const stats = this.#stats;
    stats.received++;
    if (this.#hasStream && nowMs - this.#lastArrivalMs >= this.#options.idleAfterMs) this.#endStream();
    const seq = packet.sequenceNumber & 0xffff;
    const ts = packet.timestamp >>> 0;

    if (!this.#hasStream) {
      this.#startStream(packet, seq, ts, nowMs);
      this.#publish();
      return 'accepted';
    }
    if (packet.ssrc !== this.#ssrc || this.#isJump(seq, ts)) {
      if (this.#isStraggler(packet.ssrc, seq, nowMs)) {
        stats.late++;
        return 'late';
      }
      // RFC 3550 A.1 probation: on the same SSRC, one packet far from the stream is a
      // stray (a stale duplicate, a misrouted packet) and must not throw the stream
      // away; a second packet in sequence with it is a new stream.
      const seqGapMs = Math.abs(seqDiff(this.#highestSeq, seq)) * FRAME_MS;
      if (packet.ssrc === this.#ssrc && seqGapMs > this.#options.resyncJumpMs && seq !== ((this.#jumpCandidate + 1) & 0xffff)) {
        this.#jumpCandidate = seq;
        stats.late++;
        return 'late';
      }
      this.#previousSsrc = this.#ssrc;
      this.#previousHighestSeq = this.#highestSeq;
      this.#previousUntilMs = nowMs + this.#options.resyncJumpMs;
      this.#endStream();
      stats.resyncs++;
      this.#startStream(packet, seq, ts, nowMs);
      this.#publish();
      return 'resync';
    }

    this.#lastArrivalMs = nowMs;
    const ext = this.#highestExt + seqDiff(this.#highestSeq, seq);
    const ring = this.#ring;
    if (ext < this.#headExt) {
      // Before playout starts the head is just the oldest frame so far, and may move back to an earlier arrival.
      if (this.#state !== STATE_WAITING || this.#highestExt - ext + 1 > this.#maxFrames) {
        stats.late++;
        // Lateness is exactly what the jitter estimate must see: it is what raises the target.
        this.#observeArrival(nowMs, ts);
        this.#publish();
        return 'late';
      }
      this.#observeArrival(nowMs, ts);
      ring.put(ext, ts, packet.marker, packet.buffer, packet.payloadOffset, packet.payloadLength, nowMs, this.#arrivalLatenessMs);
      this.#headExt = ext;
      // The early reader already handed over a later frame: it skips this one rather than go back in time.
      if (ext < this.#earlyExt) ring.markReadEarly(ext);
      stats.reordered++;
      this.#publish();
      return 'accepted';
    }
    if (ring.has(ext)) {
      stats.duplicate++;
      return 'duplicate';
    }
    this.#observeArrival(nowMs, ts);
    if (ext < this.#highestExt) {
      stats.reordered++;
    } else {
      this.#highestExt = ext;
      this.#highestSeq = seq;
      this.#highestTs = ts;
    }
    if (ring.count === 0 && this.#state !== STATE_PLAYING) this.#prefillSinceMs = nowMs;
    let outcome: PushOutcome = 'accepted';
    if (ext - this.#headExt + 1 > this.#maxFrames && this.#dropOldest(ext)) outcome = 'overflow';
    ring.put(ext, ts, packet.marker, packet.buffer, packet.payloadOffset, packet.payloadLength, nowMs, this.#arrivalLatenessMs);
    // Reordered behind a frame the early reader already handed over (only possible near a stream's start).
    if (ext < this.#earlyExt) ring.markReadEarly(ext);
    this.#publish();
    return outcome;
  }

  /** Called once per 20 ms tick; writes frameSamples samples into out for 'audio' | 'concealed' | 'silence'. */
  pop(nowMs: number, out: Int16Array): PopResult {
    if (out.length < this.#frameSamples) {
      throw new RangeError(`pop: out holds ${out.length} samples, a frame needs ${this.#frameSamples}`);
    }
    if (this.#hasStream && nowMs - this.#lastArrivalMs >= this.#options.idleAfterMs) this.#endStream();
    this.#shrinkTarget(nowMs);
    const ring = this.#ring;
    this.#lastPopReadEarly = false;

    if (this.#state === STATE_WAITING) {
      if (!this.#hasStream || !this.#prefilled(nowMs)) {
        this.#publish();
        return 'waiting';
      }
      this.#state = STATE_PLAYING;
      this.#talkspurtPending = true;
    }
    this.#sampleDepth();
    if (this.#state === STATE_REBUFFERING) {
      this.#skipOwedFrames();
      if (ring.count === 0 || !this.#prefilled(nowMs)) {
        this.#owedTicks++;
        return this.#conceal(out);
      }
      this.#state = STATE_PLAYING;
      this.#owedTicks = 0;
    }

    if (ring.count === 0) {
      // Underrun: nothing to play, so the next frame is late. Wait for it (it may only be delayed) and grow at once,
      // unless latency comes first: then only a rising jitter estimate grows the target.
      this.#state = STATE_REBUFFERING;
      this.#owedTicks = 1;
      if (!this.#latencyFirst) {
        this.#targetMs = Math.min(this.#maxTargetMs, this.#targetMs + FRAME_MS);
        this.#shrinkSinceMs = -1;
      }
      return this.#conceal(out);
    }
    this.#accelerate(nowMs);

    const ext = this.#headExt++;
    const stats = this.#stats;
    if (!ring.has(ext)) {
      stats.lost++;
      this.#lastPlayedTimestamp = tsAdd(this.#lastPlayedTimestamp, this.#frameUnits);
      return this.#conceal(out);
    }
    const timestamp = ring.timestampOf(ext);
    const marker = ring.markerOf(ext);
    const buffer = ring.bufferOf(ext);
    const offset = ring.offsetOf(ext);
    const length = ring.lengthOf(ext);
    this.#lastPlayedArrivalMs = ring.arrivalOf(ext);
    this.#lastPlayedLatenessMs = ring.latenessOf(ext);
    this.#lastPopReadEarly = this.#earlyReading && ring.readEarlyOf(ext);
    ring.remove(ext);
    this.#lastPlayedTimestamp = timestamp;
    let samples = -1;
    if (buffer !== null) {
      try {
        samples = this.#decode(buffer, offset, length, out);
      } catch {
        // A payload the codec rejects (wrong size, bad bytes) is one bad frame, never a crash: conceal it.
        samples = -1;
      }
    }
    if (!(samples >= 0)) {
      stats.decodeErrors++;
      return this.#conceal(out);
    }
    if (samples < this.#frameSamples) out.fill(0, samples, this.#frameSamples);
    this.#concealer.remember(out);
    this.#talkspurtStart = marker || this.#talkspurtPending;
    this.#talkspurtPending = false;
    stats.played++;
    this.#publish();
    return 'audio';
  }

  /** Back to the state of a new buffer: stream forgotten, frames dropped, statistics zeroed (in place). */
  reset(): void {
    this.#ring.clear();
    this.#jitter.reset();
    this.#lateness.restart();
    this.#concealer.forget();
    this.#state = STATE_WAITING;
    this.#hasStream = false;
    this.#owedTicks = 0;
    this.#targetMs = this.#options.minDepthMs;
    this.#jitterTargetMs = this.#options.minDepthMs;
    this.#shrinkSinceMs = -1;
    this.#overSinceMs = -1;
    this.#lastPlayedTimestamp = 0;
    this.#talkspurtStart = false;
    this.#talkspurtPending = false;
    this.#previousUntilMs = Number.NEGATIVE_INFINITY;
    const stats = this.#stats;
    stats.received = 0;
    stats.lost = 0;
    stats.late = 0;
    stats.duplicate = 0;
    stats.reordered = 0;
    stats.concealed = 0;
    stats.resyncs = 0;
    stats.overflow = 0;
    stats.played = 0;
    stats.accelerated = 0;
    stats.flushed = 0;
    stats.decodeErrors = 0;
    stats.jitterMeanMs = 0;
    stats.jitterMaxMs = 0;
    stats.depthMeanMs = 0;
    stats.depthMaxMs = 0;
    this.#jitterSumMs = 0;
    this.#jitterSamples = 0;
    this.#depthSumMs = 0;
    this.#depthSamples = 0;
    this.#publish();
  }

  #startStream(packet: JitterPacket, seq: number, ts: number, nowMs: number): void {
    const ext = EXT_BASE + seq;
    this.#jumpCandidate = -1;
    this.#hasStream = true;
    this.#ssrc = packet.ssrc;
    this.#state = STATE_WAITING;
    this.#headExt = ext;
    this.#earlyExt = ext;
    this.#highestExt = ext;
    this.#highestSeq = seq;
    this.#highestTs = ts;
    this.#lastArrivalMs = nowMs;
    this.#prefillSinceMs = nowMs;
    this.#owedTicks = 0;
    this.#overSinceMs = -1;
    this.#concealer.forget();
    this.#jitter.restart();
    this.#lateness.restart();
    this.#observeArrival(nowMs, ts);
    this.#ring.put(ext, ts, packet.marker, packet.buffer, packet.payloadOffset, packet.payloadLength, nowMs, this.#arrivalLatenessMs);
  }

  /** The stream is over (idle) or replaced (resync): nothing of it may be played any more. */
  #endStream(): void {
    this.#stats.flushed += this.#ring.clear();
    this.#hasStream = false;
    this.#state = STATE_WAITING;
    this.#owedTicks = 0;
    this.#overSinceMs = -1;
    this.#concealer.forget();
    this.#jitter.restart();
    this.#lateness.restart();
  }

  /** A sequence or timestamp step that no reordering within the depth window can explain. */
  #isJump(seq: number, ts: number): boolean {
    const d = seqDiff(this.#highestSeq, seq);
    const limitMs = this.#options.resyncJumpMs;
    if (Math.abs(d) * FRAME_MS > limitMs) return true;
    const expected = tsAdd(this.#highestTs, d * this.#frameUnits);
    return Math.abs(tsDiff(expected, ts)) / this.#unitsPerMs > limitMs;
  }

  /** A reordered packet of the stream a resync just replaced (bounded in time, so a sender that returns still can). */
  #isStraggler(ssrc: number, seq: number, nowMs: number): boolean {
    return (
      nowMs <= this.#previousUntilMs &&
      ssrc === this.#previousSsrc &&
      Math.abs(seqDiff(this.#previousHighestSeq, seq)) <= this.#ring.size
    );
  }

  #observeArrival(nowMs: number, ts: number): void {
    this.#jitter.update(nowMs, ts);
    this.#sampleJitter(this.#jitter.jitterMs);
    // Only an early reader (recognition) reports it; a mirrored leg's packets need not pay for it.
    this.#arrivalLatenessMs = this.#earlyReading ? this.#lateness.update(nowMs, ts) : 0;
    const jitterMs = this.#jitter.jitterMs;
    const spreadMs = Math.max(0, JITTER_MULTIPLIER * jitterMs - this.#options.playoutSlackMs);
    const frames = Math.max(1, Math.ceil((FRAME_MS + spreadMs) / FRAME_MS - ROUNDING_SLACK_FRAMES));
    const target = Math.min(this.#maxTargetMs, Math.max(this.#options.minDepthMs, frames * FRAME_MS));
    this.#jitterTargetMs = target;
    if (target > this.#targetMs) {
      this.#targetMs = target;
      this.#shrinkSinceMs = -1;
    }
  }

  #sampleJitter(jitterMs: number): void {
    const stats = this.#stats;
    this.#jitterSumMs += jitterMs;
    stats.jitterMeanMs = this.#jitterSumMs / ++this.#jitterSamples;
    if (jitterMs > stats.jitterMaxMs) stats.jitterMaxMs = jitterMs;
  }

  /** One tick that plays or conceals: how much audio waits ahead of the play head, the frame about to play included. */
  #sampleDepth(): void {
    const stats = this.#stats;
    const depthMs = this.#depthFrames() * FRAME_MS;
    this.#depthSumMs += depthMs;
    stats.depthMeanMs = this.#depthSumMs / ++this.#depthSamples;
    if (depthMs > stats.depthMaxMs) stats.depthMaxMs = depthMs;
  }

  /** Makes room for `ext` within maxDepthMs: drops the oldest frames, then moves the head to the oldest one kept. */
  #dropOldest(ext: number): boolean {
    const ring = this.#ring;
    const stats = this.#stats;
    const newHead = ext - this.#maxFrames + 1;
    let dropped = false;
    while (this.#headExt < newHead) {
      if (ring.remove(this.#headExt)) {
        stats.overflow++;
        dropped = true;
      } else {
        stats.lost++;
      }
      this.#headExt++;
    }
    while (this.#headExt < ext && !ring.has(this.#headExt)) {
      stats.lost++;
      this.#headExt++;
    }
    return dropped;
  }

  #depthFrames(): number {
    return this.#ring.count === 0 ? 0 : this.#highestExt - this.#headExt + 1;
  }

  #prefilled(nowMs: number): boolean {
    return this.#depthFrames() * FRAME_MS >= this.#targetMs || nowMs - this.#prefillSinceMs >= this.#targetMs;
  }

  /** After an underrun, concealment ticks already stood in for missing head frames: skip those instead of concealing twice. */
  #skipOwedFrames(): void {
    const ring = this.#ring;
    while (this.#owedTicks > 0 && ring.count > 0 && !ring.has(this.#headExt)) {
      this.#headExt++;
      this.#owedTicks--;
      this.#stats.lost++;
    }
  }

  /** Sheds one frame when depth has stayed above target (by more than a frame, unless latency first) for the hold. */
  #accelerate(nowMs: number): void {
    const surplusMs = this.#depthFrames() * FRAME_MS - this.#targetMs;
    if (surplusMs <= (this.#latencyFirst ? 0 : FRAME_MS)) {
      this.#overSinceMs = -1;
      return;
    }
    if (this.#overSinceMs < 0) {
      this.#overSinceMs = nowMs;
      return;
    }
    if (nowMs - this.#overSinceMs < (this.#latencyFirst ? LATENCY_FIRST_HOLD_MS : ACCELERATE_HOLD_MS)) return;
    this.#overSinceMs = nowMs;
    const ext = this.#headExt++;
    if (this.#ring.has(ext)) {
      this.#lastPlayedTimestamp = this.#ring.timestampOf(ext);
      this.#ring.remove(ext);
      this.#stats.accelerated++;
    } else {
      this.#lastPlayedTimestamp = tsAdd(this.#lastPlayedTimestamp, this.#frameUnits);
      this.#stats.lost++;
    }
  }

  #shrinkTarget(nowMs: number): void {
    if (this.#jitterTargetMs >= this.#targetMs) {
      this.#shrinkSinceMs = -1;
      return;
    }
    if (this.#shrinkSinceMs < 0) {
      this.#shrinkSinceMs = nowMs;
    } else if (nowMs - this.#shrinkSinceMs >= TARGET_SHRINK_HOLD_MS) {
      this.#targetMs = Math.max(this.#jitterTargetMs, this.#targetMs - FRAME_MS);
      this.#shrinkSinceMs = nowMs;
    }
  }

  /** Repeat-and-fade, then silence: for a frame the head moved past (lost, undecodable) or a tick with nothing to play. */
  #conceal(out: Int16Array): PopResult {
    const result = this.#concealer.conceal(out);
    if (result === 'concealed') this.#stats.concealed++;
    this.#publish();
    return result;
  }

  #publish(): void {
    const stats = this.#stats;
    stats.depthMs = this.#depthFrames() * FRAME_MS;
    stats.targetMs = this.#targetMs;
    stats.jitterMs = this.#jitter.jitterMs;
  }
}
