import { DelayWheel } from './delay-wheel.js';
import type { Impairment } from './generator-protocol.js';
import type { GeneratorTally } from './generator-tally.js';
import { PERIOD_MS } from './sent-frames.js';

/**
 * The network impairment a generator core applies on its paced clock, in
 * this order: loss (drop() before a frame is sent), reorder (a frame held
 * back to swap with its stream's next one) and jitter (a send delayed by a
 * uniform 0..jitterMs in a DelayWheel released by the core's 1 ms tick).
 * Times are ms since the core's start. Frames are (stream, send buffer) pairs;
 * `send` puts one on the wire.
 */
export class ImpairmentPath {
  readonly #impairment: Impairment;
  readonly #random: () => number;
  readonly #tally: GeneratorTally;
  readonly #send: (s: number, b: number) => void;
  /** Send buffer held back to swap with the stream's next frame, or -1. */
  readonly #held: Int32Array;
  readonly #wheel: DelayWheel | null;

  constructor(options: { streams: number; impairment: Impairment; random: () => number; tally: GeneratorTally; send: (s: number, b: number) => void }) {
    const { streams: n, impairment } = options;
    this.#impairment = impairment;
    this.#random = options.random;
    this.#tally = options.tally;
    this.#send = options.send;
    this.#held = new Int32Array(n).fill(-1);
    const jitterMs = impairment.jitterMs;
    this.#wheel = jitterMs > 0 ? new DelayWheel(jitterMs + 1, n * (Math.ceil(jitterMs / PERIOD_MS) + 4)) : null;
  }

  /** Delayed sends waiting in the wheel. */
  get pending(): number {
    return this.#wheel?.size ?? 0;
  }

  /** Whether the loss impairment drops the next frame (it never reaches the wire). */
  drop(): boolean {
    const { lossPct } = this.#impairment;
    return lossPct > 0 && this.#random() * 100 < lossPct;
  }

  /** A frame the loss spared: sent now, held back for a swap, or delayed. */
  offer(s: number, b: number, t: number): void {
    const held = this.#held[s]!;
    if (held >= 0) {
      // The swap: this frame first, then the one held back for it.
      this.#held[s] = -1;
      this.#emit(s, b, t);
      this.#emit(s, held, t);
    } else if (this.#impairment.reorderPct > 0 && this.#random() * 100 < this.#impairment.reorderPct) {
      this.#held[s] = b;
      this.#tally.reordered++;
    } else {
      this.#emit(s, b, t);
    }
  }

  /** Frames held for a swap go now: sending is over, they have no successor any more. */
  releaseHeld(t: number): void {
    for (let s = 0; s < this.#held.length; s++) {
      const b = this.#held[s]!;
      if (b >= 0) {
        this.#held[s] = -1;
        this.#emit(s, b, t);
      }
    }
  }

  /** Sends the delayed frames due by t (and brings the wheel's cursor to t). */
  advance(t: number): void {
    this.#wheel?.advance(t, this.#send);
  }

  /** Sends every delayed frame now. */
  flush(): void {
    this.#wheel?.flush(this.#send);
  }

  /** Sends now, or after a random 0..jitter ms through the delay wheel. */
  #emit(s: number, b: number, t: number): void {
    const wheel = this.#wheel;
    if (wheel !== null) {
      this.#tally.delayed++;
      if (wheel.push(t + this.#random() * this.#impairment.jitterMs, s, b)) return;
      this.#tally.delayOverflow++;
    }
    this.#send(s, b);
  }
}
