import { PERIOD_MS } from './sent-frames.js';

/** The 20 ms period cut into 1 ms slots: each slot has a deadline of its own. */
export const SLOTS = 20;
export const SLOT_MS = PERIOD_MS / SLOTS;

/**
 * Which streams send in each 1 ms slot of the generator's 20 ms period, and
 * each slot's period index (its RTP timestamp step). A pair's leg A goes on
 * the least loaded slot of the first half-period and leg B half a period
 * later, so pairs added one by one still spread evenly. Typed arrays sized at
 * construction: nothing is allocated per send.
 */
export class SlotSchedule {
  /** Streams of slot k: #streams[k·cap .. k·cap + #count[k]). */
  readonly #streams: Int32Array;
  readonly #count: Int32Array;
  /** Period index of each slot's next send. */
  readonly #period: Int32Array;
  readonly #capacity: number;

  /** `capacityStreams`: the most streams ever placed (two per pair). */
  constructor(capacityStreams: number) {
    this.#capacity = capacityStreams;
    this.#streams = new Int32Array(SLOTS * capacityStreams);
    this.#count = new Int32Array(SLOTS);
    this.#period = new Int32Array(SLOTS);
  }

  /** Places a pair's streams (sA = leg A, sB = leg B) on the least loaded slot and its opposite. */
  placePair(sA: number, sB: number): void {
    let best = 0;
    for (let k = 1; k < SLOTS / 2; k++) {
      if (this.#load(k) < this.#load(best)) best = k;
    }
    this.#add(best, sA);
    this.#add(best + SLOTS / 2, sB);
  }

  /** Streams in `slot`. */
  count(slot: number): number {
    return this.#count[slot]!;
  }

  /** The i-th stream of `slot` (i < count(slot)). */
  stream(slot: number, i: number): number {
    return this.#streams[slot * this.#capacity + i]!;
  }

  /** The slot's period index for this send, and advances it (a skipped send advances it too). */
  takePeriod(slot: number): number {
    const period = this.#period[slot]!;
    this.#period[slot] = period + 1;
    return period;
  }

  #load(k: number): number {
    return this.#count[k]! + this.#count[k + SLOTS / 2]!;
  }

  #add(slot: number, s: number): void {
    this.#streams[slot * this.#capacity + this.#count[slot]!] = s;
    this.#count[slot]!++;
  }
}
