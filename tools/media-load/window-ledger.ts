import type { WindowSample } from './generator-protocol.js';
import { Histogram } from './histogram.js';

/** Length of one reported window. */
export const WINDOW_MS = 1000;
/** A window is reported this long after it ends: frames still in flight then count as lost. */
const WINDOW_SETTLE_MS = 600;
/** Window accumulators in use at once (one per second; 8 s of history before reuse). */
const WINDOW_RING = 8;

/** What one window has counted so far (see WindowSample for the meaning of each). */
export interface WindowAcc {
  index: number;
  settled: boolean;
  pairs: number;
  packets: number;
  sent: number;
  received: number;
  dropped: number;
  arrivals: number;
  latency: Histogram;
}

/**
 * The generator's per-second windows: a small ring of accumulators the send and receive paths count into, each
 * settled (turned into a WindowSample) once its frames had time to arrive. Preallocated: counting allocates nothing.
 */
export class WindowLedger {
  readonly #windows: WindowAcc[];
  readonly #settledWindows: WindowSample[] = [];
  readonly #pendingWindows: WindowSample[] = [];
  readonly #activePairs: () => number;
  #nextSettle = 0;

  /** `activePairs` is read when a window opens (a ramp changes it between windows). */
  constructor(activePairs: () => number) {
    this.#activePairs = activePairs;
    this.#windows = Array.from({ length: WINDOW_RING }, () => ({
      index: -1,
      settled: true,
      pairs: 0,
      packets: 0,
      sent: 0,
      received: 0,
      dropped: 0,
      arrivals: 0,
      latency: new Histogram(0.5, 2000),
    }));
  }

  /** Every window settled so far, oldest first. */
  get settled(): readonly WindowSample[] {
    return this.#settledWindows;
  }

  /** Windows settled since the last call, oldest first. */
  takePending(): WindowSample[] {
    return this.#pendingWindows.splice(0);
  }

  /** The accumulator of window `index`, recycling an older one; null for a window already recycled. */
  windowFor(index: number): WindowAcc | null {
    if (index < 0) return null;
    const acc = this.#windows[index % WINDOW_RING] as WindowAcc;
    if (acc.index === index) return acc;
    if (acc.index > index) return null;
    // Recycling: windows older than this one are settled first, in order, so none is lost.
    if (!acc.settled) this.settleUpTo(acc.index);
    if (acc.index === index) return acc;
    acc.index = index;
    acc.settled = false;
    acc.pairs = this.#activePairs();
    acc.packets = 0;
    acc.sent = 0;
    acc.received = 0;
    acc.dropped = 0;
    acc.arrivals = 0;
    acc.latency.reset();
    return acc;
  }

  /** The last window that has ended and had its settle time, or that the measured window closed. */
  lastSettleable(now: number, startAt: number, measureEnd: number): number {
    const byTime = Math.floor((now - WINDOW_SETTLE_MS - startAt) / WINDOW_MS) - 1;
    // Only whole windows: the last one the sending covered fully.
    const bySending = Math.floor((measureEnd - startAt + 0.5) / WINDOW_MS) - 1;
    return Math.min(byTime, bySending);
  }

  settleUpTo(last: number): void {
    while (this.#nextSettle <= last) {
      const index = this.#nextSettle;
      const acc = this.windowFor(index);
      this.#nextSettle = index + 1;
      if (acc === null) continue;
      acc.settled = true;
      const sample: WindowSample = {
        index,
        pairs: acc.pairs,
        packets: acc.packets,
        sent: acc.sent,
        received: acc.received,
        dropped: acc.dropped,
        arrivals: acc.arrivals,
        latency: acc.latency.snapshot(),
      };
      this.#settledWindows.push(sample);
      this.#pendingWindows.push(sample);
    }
  }
}
