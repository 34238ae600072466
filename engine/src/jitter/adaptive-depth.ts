import { InterarrivalJitter } from './interarrival-jitter.js';
import { FRAME_MS } from './options.js';

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

export interface AdaptiveDepthOptions {
  readonly clockRate: number;
  readonly minDepthMs: number;
  /** The highest target: maxDepthMs in whole frames. */
  readonly maxTargetMs: number;
  readonly playoutSlackMs: number;
}

/**
 * How deep the jitter buffer should be: a target that follows the RFC 3550 interarrival jitter estimate, grows at
 * once (also by a frame per underrun) and shrinks a frame at a time, and the hold that decides when depth above
 * that target may be shed (NetEQ's accelerate). Pure arithmetic on injected times; the buffer does the dropping.
 */
export class AdaptiveDepth {
  readonly #jitter: InterarrivalJitter;
  readonly #minDepthMs: number;
  readonly #maxTargetMs: number;
  readonly #playoutSlackMs: number;
  #targetMs: number;
  /** The target the jitter estimate alone asks for; the real target shrinks toward it slowly. */
  #jitterTargetMs: number;
  #shrinkSinceMs = -1;
  #overSinceMs = -1;

  constructor(options: AdaptiveDepthOptions) {
    this.#jitter = new InterarrivalJitter(options.clockRate);
    this.#minDepthMs = options.minDepthMs;
    this.#maxTargetMs = options.maxTargetMs;
    this.#playoutSlackMs = options.playoutSlackMs;
    this.#targetMs = options.minDepthMs;
    this.#jitterTargetMs = options.minDepthMs;
  }

  get targetMs(): number {
    return this.#targetMs;
  }

  get jitterMs(): number {
    return this.#jitter.jitterMs;
  }

  /** Folds one arrival into the jitter estimate; a higher estimate raises the target at once. */
  observe(nowMs: number, ts: number): void {
    this.#jitter.update(nowMs, ts);
    const jitterMs = this.#jitter.jitterMs;
    const spreadMs = Math.max(0, JITTER_MULTIPLIER * jitterMs - this.#playoutSlackMs);
    const frames = Math.max(1, Math.ceil((FRAME_MS + spreadMs) / FRAME_MS - ROUNDING_SLACK_FRAMES));
    const target = Math.min(this.#maxTargetMs, Math.max(this.#minDepthMs, frames * FRAME_MS));
    this.#jitterTargetMs = target;
    if (target > this.#targetMs) {
      this.#targetMs = target;
      this.#shrinkSinceMs = -1;
    }
  }

  /** An underrun means the next frame is late: one more frame of depth, at once. */
  growAfterUnderrun(): void {
    this.#targetMs = Math.min(this.#maxTargetMs, this.#targetMs + FRAME_MS);
    this.#shrinkSinceMs = -1;
  }

  /** Called every tick: one frame off the target per TARGET_SHRINK_HOLD_MS while the jitter estimate stays below it. */
  shrink(nowMs: number): void {
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

  /**
   * True when one frame should be shed now: depth has stayed above target (by more than a frame, unless latency
   * first) for the hold. Each true restarts the hold, so at most one frame goes per period.
   */
  shouldShed(depthMs: number, nowMs: number, latencyFirst: boolean): boolean {
    const surplusMs = depthMs - this.#targetMs;
    if (surplusMs <= (latencyFirst ? 0 : FRAME_MS)) {
      this.#overSinceMs = -1;
      return false;
    }
    if (this.#overSinceMs < 0) {
      this.#overSinceMs = nowMs;
      return false;
    }
    if (nowMs - this.#overSinceMs < (latencyFirst ? LATENCY_FIRST_HOLD_MS : ACCELERATE_HOLD_MS)) return false;
    this.#overSinceMs = nowMs;
    return true;
  }

  /** A stream began or ended: the next arrival has no predecessor, and no surplus is being held. The estimate stays (same path). */
  restartStream(): void {
    this.#overSinceMs = -1;
    this.#jitter.restart();
  }

  /** Back to the state of a new buffer. */
  reset(): void {
    this.#jitter.reset();
    this.#targetMs = this.#minDepthMs;
    this.#jitterTargetMs = this.#minDepthMs;
    this.#shrinkSinceMs = -1;
    this.#overSinceMs = -1;
  }
}
