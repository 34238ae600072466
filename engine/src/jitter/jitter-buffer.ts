import { seqDiff, tsAdd } from '../rtp/wrap.js';
import { AdaptiveDepth } from './adaptive-depth.js';
import { Concealer } from './concealer.js';
import { EarlyReader } from './early-reader.js';
import { FrameRing } from './frame-ring.js';
import { JitterStatsRecorder, type JitterStats } from './jitter-stats.js';
import type { FrameDecoder, JitterPacket, PopResult, PushOutcome } from './jitter-types.js';
import { FRAME_MS, validateJitterOptions, type JitterBufferOptions } from './options.js';
import { dropOldest } from './overflow.js';
import { ResyncDetector } from './resync-detector.js';

const STATE_WAITING = 0; // no stream, or prefilling before the first frame of a stream
const STATE_PLAYING = 1;
const STATE_REBUFFERING = 2; // underrun inside a stream: output continues (concealment) while depth rebuilds
type PlayState = typeof STATE_WAITING | typeof STATE_PLAYING | typeof STATE_REBUFFERING;

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
 *
 * This file is the insert/pop state machine; the target (adaptive-depth.ts), resync decisions (resync-detector.ts),
 * concealment (concealer.ts), early reading (early-reader.ts), overflow (overflow.ts) and accounting (jitter-stats.ts)
 * live beside it.
 */
export class JitterBuffer {
  readonly #decode: FrameDecoder;
  readonly #options: Required<JitterBufferOptions>;
  readonly #frameSamples: number;
  /** RTP timestamp units per 20 ms frame. */
  readonly #frameUnits: number;
  /** Most frames ever held between the play head and the newest frame (maxDepthMs in whole frames). */
  readonly #maxFrames: number;
  readonly #ring: FrameRing;
  readonly #depth: AdaptiveDepth;
  readonly #resync: ResyncDetector;
  readonly #early: EarlyReader;
  /** ArrivalLateness of the packet being pushed (set by #observeArrival). */
  #arrivalLatenessMs = 0;
  readonly #concealer: Concealer;
  readonly #recorder: JitterStatsRecorder;
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
  #lastPlayedTimestamp = 0;
  #lastPlayedArrivalMs = Number.NaN;
  #talkspurtStart = false;
  #talkspurtPending = false;
  #latencyFirst = false;
  #lastPlayedLatenessMs = 0;
  #lastPopReadEarly = false;

  constructor(decode: FrameDecoder, options: JitterBufferOptions) {
    if (typeof decode !== 'function') throw new TypeError('decode must be a function');
    this.#decode = decode;
    this.#options = validateJitterOptions(options);
    this.#frameSamples = this.#options.frameSamples;
    this.#frameUnits = (this.#options.clockRate / 1000) * FRAME_MS;
    this.#maxFrames = Math.floor(this.#options.maxDepthMs / FRAME_MS);
    this.#ring = new FrameRing(this.#options.capacityFrames);
    this.#depth = new AdaptiveDepth({
      clockRate: this.#options.clockRate,
      minDepthMs: this.#options.minDepthMs,
      maxTargetMs: this.#maxFrames * FRAME_MS,
      playoutSlackMs: this.#options.playoutSlackMs,
    });
    this.#resync = new ResyncDetector(this.#options.clockRate, this.#options.resyncJumpMs);
    this.#early = new EarlyReader(this.#options.clockRate, this.#frameSamples);
    this.#concealer = new Concealer(this.#frameSamples, this.#options.concealFrames);
    this.#recorder = new JitterStatsRecorder(this.#depth.targetMs);
    this.#stats = this.#recorder.stats;
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
   * target is shed after a short hold (see adaptive-depth.ts), and a lone underrun conceals without raising the
   * target (the jitter estimate still does). Off by default: where a listener hears the stream, keeping that frame
   * trades 20 ms for continuity, and on a busy box such a surplus comes and goes with every late tick (shedding it
   * cost 5× the loss at 800 pairs: 0.13–0.15 % against 0.02–0.035 %). On, a single late packet no longer adds 20 ms
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
    this.#early.setEnabled(on, this.#headExt);
  }

  get earlyReading(): boolean {
    return this.#early.enabled;
  }

  /**
   * Decodes the next frame in sequence into `out` if it is stored and not yet read; false when it has not
   * arrived (a later frame waits behind the gap until playout passes it). Frames come strictly in sequence
   * order, each at most once. Never touches playout state.
   */
  readEarly(out: Int16Array): boolean {
    if (!this.#early.enabled || !this.#hasStream) return false;
    return this.#early.read(this.#ring, this.#headExt, this.#decode, out);
  }

  /** Arrival (push's nowMs) of the frame readEarly last returned. */
  get lastEarlyArrivalMs(): number {
    return this.#early.lastArrivalMs;
  }

  /** How late the frame readEarly last returned arrived against its stream's timing (see ArrivalLateness; early reading only). */
  get lastEarlyLatenessMs(): number {
    return this.#early.lastLatenessMs;
  }

  /** The same for the frame pop last took from the buffer. */
  get lastPlayedLatenessMs(): number {
    return this.#lastPlayedLatenessMs;
  }

  /** RTP timestamp of the frame readEarly last returned. */
  get lastEarlyTimestamp(): number {
    return this.#early.lastTimestamp;
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
    if (packet.ssrc !== this.#ssrc || this.#resync.isJump(this.#highestSeq, this.#highestTs, seq, ts)) {
      if (this.#resync.judgeBreak(packet.ssrc, seq, nowMs, this.#ssrc, this.#highestSeq, this.#ring.size) === 'late') {
        stats.late++;
        return 'late';
      }
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
      this.#early.skipIfPassed(ring, ext);
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
    if (ext - this.#headExt + 1 > this.#maxFrames) {
      const overflowBefore = stats.overflow;
      this.#headExt = dropOldest(ring, stats, this.#headExt, ext, this.#maxFrames);
      if (stats.overflow !== overflowBefore) outcome = 'overflow';
    }
    ring.put(ext, ts, packet.marker, packet.buffer, packet.payloadOffset, packet.payloadLength, nowMs, this.#arrivalLatenessMs);
    // Reordered behind a frame the early reader already handed over (only possible near a stream's start).
    this.#early.skipIfPassed(ring, ext);
    this.#publish();
    return outcome;
  }

  /** Called once per 20 ms tick; writes frameSamples samples into out for 'audio' | 'concealed' | 'silence'. */
  pop(nowMs: number, out: Int16Array): PopResult {
    if (out.length < this.#frameSamples) {
      throw new RangeError(`pop: out holds ${out.length} samples, a frame needs ${this.#frameSamples}`);
    }
    if (this.#hasStream && nowMs - this.#lastArrivalMs >= this.#options.idleAfterMs) this.#endStream();
    this.#depth.shrink(nowMs);
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
    this.#recorder.sampleDepth(this.#depthFrames() * FRAME_MS);
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
      if (!this.#latencyFirst) this.#depth.growAfterUnderrun();
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
    this.#lastPopReadEarly = this.#early.enabled && ring.readEarlyOf(ext);
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
    this.#depth.reset();
    this.#early.streamEnded();
    this.#concealer.forget();
    this.#state = STATE_WAITING;
    this.#hasStream = false;
    this.#owedTicks = 0;
    this.#lastPlayedTimestamp = 0;
    this.#talkspurtStart = false;
    this.#talkspurtPending = false;
    this.#resync.reset();
    this.#recorder.reset();
    this.#publish();
  }

  #startStream(packet: JitterPacket, seq: number, ts: number, nowMs: number): void {
    const ext = EXT_BASE + seq;
    this.#resync.streamStarted();
    this.#hasStream = true;
    this.#ssrc = packet.ssrc;
    this.#state = STATE_WAITING;
    this.#headExt = ext;
    this.#highestExt = ext;
    this.#highestSeq = seq;
    this.#highestTs = ts;
    this.#lastArrivalMs = nowMs;
    this.#prefillSinceMs = nowMs;
    this.#owedTicks = 0;
    this.#concealer.forget();
    this.#depth.restartStream();
    this.#early.streamStarted(ext);
    this.#observeArrival(nowMs, ts);
    this.#ring.put(ext, ts, packet.marker, packet.buffer, packet.payloadOffset, packet.payloadLength, nowMs, this.#arrivalLatenessMs);
  }

  /** The stream is over (idle) or replaced (resync): nothing of it may be played any more. */
  #endStream(): void {
    this.#stats.flushed += this.#ring.clear();
    this.#hasStream = false;
    this.#state = STATE_WAITING;
    this.#owedTicks = 0;
    this.#concealer.forget();
    this.#depth.restartStream();
    this.#early.streamEnded();
  }

  #observeArrival(nowMs: number, ts: number): void {
    this.#depth.observe(nowMs, ts);
    this.#recorder.sampleJitter(this.#depth.jitterMs);
    this.#arrivalLatenessMs = this.#early.latenessOf(nowMs, ts);
  }

  #depthFrames(): number {
    return this.#ring.count === 0 ? 0 : this.#highestExt - this.#headExt + 1;
  }

  #prefilled(nowMs: number): boolean {
    const targetMs = this.#depth.targetMs;
    return this.#depthFrames() * FRAME_MS >= targetMs || nowMs - this.#prefillSinceMs >= targetMs;
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

  /** Sheds the head frame when the adaptive depth says the surplus above target has lasted long enough. */
  #accelerate(nowMs: number): void {
    if (!this.#depth.shouldShed(this.#depthFrames() * FRAME_MS, nowMs, this.#latencyFirst)) return;
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

  /** Repeat-and-fade, then silence: for a frame the head moved past (lost, undecodable) or a tick with nothing to play. */
  #conceal(out: Int16Array): PopResult {
    const result = this.#concealer.conceal(out);
    if (result === 'concealed') this.#stats.concealed++;
    this.#publish();
    return result;
  }

  #publish(): void {
    this.#recorder.publish(this.#depthFrames() * FRAME_MS, this.#depth.targetMs, this.#depth.jitterMs);
  }
}
