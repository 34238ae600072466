import { performance } from 'node:perf_hooks';
import type { Direction, MediaFrame, PipelineStage } from '../pipeline/index.js';
import type { MediaLeg } from './media-leg.js';

/** Something that sees every tick's frames of a direction, e.g. a recorder (must copy what it keeps). */
export interface FrameObserver {
  frame(direction: Direction, input: MediaFrame | null, output: MediaFrame | null): void;
}

/** How a waiting stage swap ended (replaceStageAtPause): at a pause, or forced by its bound. */
export interface StageSwap {
  forced: boolean;
  /** From the request to the swap, on the direction's clock. */
  waitedMs: number;
  /** The new stage could not be built: the old one keeps running. */
  error?: unknown;
}

/** A stage to take over at the direction's next pause: built only then, so nothing it opens is paid for earlier. */
interface PendingSwap {
  build: () => PipelineStage;
  requestedAtMs: number;
  maxWaitMs: number;
  onSwap: (swap: StageSwap) => void;
}

/** The part of the worker's scheduler a direction uses to line its tick up with its packets. */
export interface SlotPlanner {
  slotAfter(timeMs: number): number;
  move(task: { tick(nowMs: number): void }, slot: number): void;
  /** How far behind its schedule the worker's clock is now. */
  lagMs(): number;
}

const PERIOD_MS = 20;
/** Ticks per phase check (one second of frames). */
const PHASE_WINDOW_TICKS = 50;
/** How far beyond the margin the least delayed frame may wait before the tick moves (one 2 ms slot, plus timer noise). */
const PHASE_SLACK_MS = 3;
/**
 * Past this much scheduler lag the worker is overloaded: frames are handed to recognition by the ticks, not on
 * arrival. Early reading moves that work into the socket handlers, ahead of the ticks; on a starved worker (200
 * translated pairs on 2 cores) that pushed ticks past their catch-up limit, and the listener's path shed
 * 6,300–26,100 frames in 30 s, against 5–433 with this limit (397–1,580 before early reading).
 */
const EARLY_READ_MAX_LAG_MS = 10;

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
  readonly #source: MediaLeg;
  readonly #destination: MediaLeg;
  #stage: PipelineStage;
  readonly #frame: MediaFrame;
  /** The frame the early reader fills (a separate buffer: an arrival may come between a tick's pop and its send). */
  readonly #heardFrame: MediaFrame;
  readonly #planner: SlotPlanner | null;
  readonly #alignMarginMs: number;
  readonly #now: () => number;
  #alignedToArrival = Number.NaN;
  /** Shortest wait (arrival → tick) of a played frame in the current window, and when that frame arrived. */
  #minWaitMs = Number.POSITIVE_INFINITY;
  #minWaitArrivalMs = Number.NaN;
  #windowTicks = 0;
  /** Sees each tick's input and output (the pair's recorder). */
  #observer: FrameObserver | null = null;
  /** The stage hears frames on arrival (PipelineStage.hear): the tick's phase is the output's. */
  #hearing = false;
  /** The last tick sent nothing to the destination. */
  #outputIdle = true;
  /** After a wake, a scheduled tick before this instant (the rest of that period) does nothing. */
  #notBeforeMs = Number.NEGATIVE_INFINITY;
  /** A stage waiting for the current one's next pause (replaceStageAtPause). */
  #pendingSwap: PendingSwap | null = null;
  #closed = false;

  constructor(
    pairId: string,
    direction: Direction,
    source: MediaLeg,
    destination: MediaLeg,
    stage: PipelineStage,
    planner: SlotPlanner | null = null,
    alignMarginMs = 2,
    /** The worker's clock (ms, performance.now's); tests pass their own so waits are exact on a busy box. */
    clock: () => number = () => performance.now(),
  ) {
    this.#now = clock;
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
    this.#heardFrame = { ...this.#frame, pcm: new Int16Array(source.codec.frameSamples), heard: true };
    this.#useStage(stage);
  }

  tick(nowMs: number): void {
    // A wake already played this period's frame (see #wake).
    if (nowMs < this.#notBeforeMs) return;
    this.#outputTick(nowMs);
  }

  #outputTick(nowMs: number): void {
    if (this.#pendingSwap !== null) this.#swapIfPaused();
    const frame = this.#frame;
    const result = this.#source.jitter.pop(nowMs, frame.pcm);
    let input: MediaFrame | null = null;
    if (result !== 'waiting') {
      frame.status = result;
      frame.samples = this.#source.codec.frameSamples;
      frame.rtpTimestamp = this.#source.jitter.lastPlayedTimestamp;
      // How long this frame sat in Tandem before the stage saw it: jitter buffer plus tick alignment.
      // A concealed frame never arrived; it stands in for one that is late by at least the alignment margin.
      frame.ingressDelayMs = result === 'audio' ? this.#trackPhase(this.#source.jitter.lastPlayedArrivalMs) : this.#alignMarginMs;
      frame.arrivalLatenessMs = result === 'audio' ? this.#source.jitter.lastPlayedLatenessMs : 0;
      frame.heard = this.#source.jitter.lastPopReadEarly;
      input = frame;
    } else {
      this.#alignToArrivals();
    }
    const output = this.#stage.process(input);
    this.#outputIdle = output === null;
    if (output === null) this.#destination.idleTick();
    else this.#destination.sendPcm(output.pcm, output.samples, output.sampleRate);
    this.#observer?.frame(this.direction, input, output);
    // Frames that waited behind a gap this tick just passed (or, on a lagging worker, every frame since the last tick).
    if (this.#hearing) this.#hearStored();
  }

  observe(observer: FrameObserver | null): void {
    this.#observer = observer;
  }

  /** Swaps the stage between two ticks, now, whatever it is doing; the old one is closed. */
  replaceStage(stage: PipelineStage): void {
    if (this.#closed) {
      stage.close();
      return;
    }
    this.#pendingSwap = null;
    const old = this.#stage;
    this.#useStage(stage);
    old.close();
  }

  /**
   * Swaps the stage at its next pause (PipelineStage.idle), checked before each tick: an utterance being heard,
   * translated or played finishes on the old stage. The new stage is built only then. A stage that is not idle
   * within `maxWaitMs` is swapped anyway (`forced`). A later request replaces one still waiting (its stage was
   * never built); close() drops it.
   */
  replaceStageAtPause(build: () => PipelineStage, maxWaitMs: number, onSwap: (swap: StageSwap) => void = () => {}): void {
    if (this.#closed) return;
    this.#pendingSwap = { build, requestedAtMs: this.#now(), maxWaitMs, onSwap };
  }

  /** A swap is waiting for the stage's next pause. */
  get swapPending(): boolean {
    return this.#pendingSwap !== null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pendingSwap = null;
    this.#source.onStored = null;
    this.#stage.close();
  }

  #swapIfPaused(): void {
    const pending = this.#pendingSwap!;
    const waitedMs = this.#now() - pending.requestedAtMs;
    const idle = this.#stage.idle?.() ?? true;
    if (!idle && waitedMs < pending.maxWaitMs) return;
    this.#pendingSwap = null;
    let stage: PipelineStage;
    try {
      stage = pending.build();
    } catch (err) {
      // On the tick: a stage that cannot be built must not break it. The direction keeps the stage it has.
      pending.onSwap({ forced: !idle, waitedMs, error: err });
      return;
    }
    this.replaceStage(stage);
    pending.onSwap({ forced: !idle, waitedMs });
  }

  /**
   * A stage that hears frames early (PipelineStage.hear) feeds recognition: it gets the source leg's frames as
   * they arrive, and the leg's jitter buffer favours latency over continuity (JitterBuffer.setLatencyFirst; a
   * mirrored leg is heard as it is and keeps continuity). Its input then needs no tick in phase with the
   * packets, so the tick belongs to the output and only the output moves it (a wake). A stage that can resume
   * output after a pause may wake the direction (setWake).
   */
  #useStage(stage: PipelineStage): void {
    this.#stage = stage;
    const hears = typeof stage.hear === 'function';
    this.#hearing = hears;
    this.#source.jitter.setEarlyReading(hears);
    this.#source.jitter.setLatencyFirst(hears);
    this.#source.onStored = hears ? this.#onStored : null;
    stage.setWake?.(this.#wake);
  }

  /**
   * Output resumes after a pause (DTX): play the new talkspurt's first frame now instead of at the next tick of
   * the old phase, and keep the ticks 20 ms after it. Only while the last tick sent nothing: moving a running
   * stream would break its pacing, and against a continuous stream (Asterisk's bridge consumes frames in order)
   * an early frame only queues behind the previous one.
   */
  readonly #wake = (): void => {
    const planner = this.#planner;
    if (!this.#outputIdle || planner === null) return;
    const now = this.#now();
    if (now < this.#notBeforeMs) return;
    this.#outputTick(now);
    if (this.#outputIdle) return;
    // The task's slot repeats every period; its next run inside this period must not play a second frame.
    this.#notBeforeMs = now + PERIOD_MS - PERIOD_MS / 4;
    planner.move(this, planner.slotAfter(now + PERIOD_MS));
  };

  readonly #onStored = (): void => {
    if (this.#planner !== null && this.#planner.lagMs() > EARLY_READ_MAX_LAG_MS) return;
    this.#hearStored();
  };

  /** Hands the stage every frame that is now readable in sequence: on each arrival (MediaLeg.onStored), and after each tick. */
  #hearStored(): void {
    const stage = this.#stage;
    const jitter = this.#source.jitter;
    const frame = this.#heardFrame;
    while (jitter.readEarly(frame.pcm)) {
      frame.rtpTimestamp = jitter.lastEarlyTimestamp;
      frame.ingressDelayMs = Math.max(0, this.#now() - jitter.lastEarlyArrivalMs);
      frame.arrivalLatenessMs = jitter.lastEarlyLatenessMs;
      stage.hear?.(frame);
    }
  }

  /**
   * Returns how long the frame just popped waited, and keeps the tick in phase with its stream. The phase is
   * set from the first packets of a stream, which a busy worker may read late; every second the tick moves
   * earlier when even the least delayed frame of that second waited more than a slot beyond the margin.
   * It never moves later here: late packets are the jitter buffer's job.
   */
  #trackPhase(arrivalMs: number): number {
    const waited = Math.max(0, this.#now() - arrivalMs);
    if (this.#hearing) return waited;
    if (waited < this.#minWaitMs) {
      this.#minWaitMs = waited;
      this.#minWaitArrivalMs = arrivalMs;
    }
    if (++this.#windowTicks >= PHASE_WINDOW_TICKS) {
      const planner = this.#planner;
      if (planner !== null && this.#minWaitMs > this.#alignMarginMs + PHASE_SLACK_MS) {
        planner.move(this, planner.slotAfter(this.#minWaitArrivalMs + this.#alignMarginMs));
      }
      this.#windowTicks = 0;
      this.#minWaitMs = Number.POSITIVE_INFINITY;
    }
    return waited;
  }

  /** While the stream is (re)starting, follow the phase of its newest packet. */
  #alignToArrivals(): void {
    const arrival = this.#source.lastArrivalMs;
    if (this.#hearing || this.#planner === null || Number.isNaN(arrival) || arrival === this.#alignedToArrival) return;
    this.#alignedToArrival = arrival;
    this.#planner.move(this, this.#planner.slotAfter(arrival + this.#alignMarginMs));
  }
}
