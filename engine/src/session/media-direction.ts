import type { Direction, MediaFrame, PipelineStage } from '../pipeline/index.js';
import type { RtpLeg } from './rtp-leg.js';

/** Something that sees every tick's frames of a direction, e.g. a recorder (must copy what it keeps). */
export interface FrameObserver {
  frame(direction: Direction, input: MediaFrame | null, output: MediaFrame | null): void;
}

/** The part of the worker's scheduler a direction uses to line its tick up with its packets. */
export interface SlotPlanner {
  slotAfter(timeMs: number): number;
  move(task: { tick(nowMs: number): void }, slot: number): void;
}

/**
 * One direction of a pair (A->B or B->A), run on every tick: the source leg's
 * jitter buffer yields at most one frame, the stage decides what the opposite
 * leg hears, and the destination leg sends it. All buffers are allocated once.
 *
 * Each direction is its own scheduler task. When its stream (re)starts, the
 * task moves to the slot just after the packets' arrival phase, so a frame
 * waits one slot (≈ 2 ms) for its tick instead of up to a whole 20 ms period.
 */
export class MediaDirection {
  readonly direction: Direction;
  readonly #source: RtpLeg;
  readonly #destination: RtpLeg;
  #stage: PipelineStage;
  readonly #frame: MediaFrame;
  readonly #planner: SlotPlanner | null;
  readonly #alignMarginMs: number;
  #alignedToArrival = Number.NaN;
  /** Sees each tick's input and output (the pair's recorder). */
  #observer: FrameObserver | null = null;

  constructor(
    pairId: string,
    direction: Direction,
    source: RtpLeg,
    destination: RtpLeg,
    stage: PipelineStage,
    planner: SlotPlanner | null = null,
    alignMarginMs = 2,
  ) {
    this.direction = direction;
    this.#source = source;
    this.#destination = destination;
    this.#stage = stage;
    this.#planner = planner;
    this.#alignMarginMs = alignMarginMs;
    this.#frame = {
      pcm: new Int16Array(source.codec.frameSamples),
      samples: source.codec.frameSamples,
      sampleRate: source.codec.sampleRate,
      pairId,
      srcExt: source.ext,
      direction,
      rtpTimestamp: 0,
      status: 'audio',
    };
  }

  tick(nowMs: number): void {
    const frame = this.#frame;
    const result = this.#source.jitter.pop(nowMs, frame.pcm);
    let input: MediaFrame | null = null;
    if (result !== 'waiting') {
      frame.status = result;
      frame.samples = this.#source.codec.frameSamples;
      frame.rtpTimestamp = this.#source.jitter.lastPlayedTimestamp;
      frame.ingressDelayMs = this.#source.jitter.bufferedFrames * 20 + this.#alignMarginMs;
      input = frame;
    } else {
      this.#alignToArrivals();
    }
    const output = this.#stage.process(input);
    if (output === null) this.#destination.idleTick();
    else this.#destination.sendPcm(output.pcm, output.samples, output.sampleRate);
    this.#observer?.frame(this.direction, input, output);
  }

  observe(observer: FrameObserver | null): void {
    this.#observer = observer;
  }

  /** Swaps the stage between two ticks (new translation settings); the old one is closed. */
  replaceStage(stage: PipelineStage): void {
    const old = this.#stage;
    this.#stage = stage;
    old.close();
  }

  close(): void {
    this.#stage.close();
  }

  /** While the stream is (re)starting, follow the phase of its newest packet. */
  #alignToArrivals(): void {
    const arrival = this.#source.lastArrivalMs;
    if (this.#planner === null || Number.isNaN(arrival) || arrival === this.#alignedToArrival) return;
    this.#alignedToArrival = arrival;
    this.#planner.move(this, this.#planner.slotAfter(arrival + this.#alignMarginMs));
  }
}
