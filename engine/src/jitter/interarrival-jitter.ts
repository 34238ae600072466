import { tsDiff } from '../rtp/wrap.js';

/**
 * RFC 3550 §6.4.1 / A.8 interarrival jitter: the smoothed mean deviation of the
 * difference in transit time between consecutive packets, J += (|D| − J) / 16,
 * kept in timestamp units. Arrival times are converted to the RTP clock; the
 * timestamp difference uses 32-bit wraparound arithmetic so 2^32 → 0 is a step
 * of one frame, not a 2^32 jump.
 */
export class InterarrivalJitter {
  readonly #unitsPerMs: number;
  #jitter = 0;
  #hasPrevious = false;
  #previousArrivalMs = 0;
  #previousTimestamp = 0;

  constructor(clockRate: number) {
    this.#unitsPerMs = clockRate / 1000;
  }

  /** Folds in one packet's arrival (ms, any monotonic clock) and RTP timestamp. */
  update(arrivalMs: number, timestamp: number): void {
    if (this.#hasPrevious) {
      const arrivalUnits = (arrivalMs - this.#previousArrivalMs) * this.#unitsPerMs;
      const d = arrivalUnits - tsDiff(this.#previousTimestamp, timestamp);
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
    }
    this.#hasPrevious = true;
    this.#previousArrivalMs = arrivalMs;
    this.#previousTimestamp = timestamp;
  }

  /** Forgets the reference packet (new stream or gap) but keeps the estimate: the network path is the same. */
  restart(): void {
    this.#hasPrevious = false;
  }

  /** Back to zero, as new. */
  reset(): void {
    this.#jitter = 0;
    this.#hasPrevious = false;
  }

  get jitterUnits(): number {
    return this.#jitter;
  }

  get jitterMs(): number {
    return this.#jitter / this.#unitsPerMs;
  }
}
