import { tsDiff } from '../rtp/wrap.js';

/** How fast the floor may rise, so a sender's clock running slow against ours does not read as growing lateness. */
const FLOOR_RISE_PER_MS = 0.001;

/**
 * How late each packet of a stream was read, against the earliest its stream
 * has lately allowed: its transit (read time minus the media time its RTP
 * timestamp says) less the smallest transit seen, a floor that may rise 1 ms
 * per second. That lateness holds everything between the sender's clock and
 * our read: the sender's own lateness, network jitter, and the time a datagram
 * waited in the kernel while its worker was busy, which no timestamp taken in
 * JavaScript sees otherwise.
 */
export class ArrivalLateness {
  readonly #unitsPerMs: number;
  #started = false;
  #baseTimestamp = 0;
  #floorMs = 0;
  #lastArrivalMs = 0;

  constructor(clockRate: number) {
    this.#unitsPerMs = clockRate / 1000;
  }

  /** Lateness (ms, ≥ 0) of a packet read at `arrivalMs` carrying `timestamp`; the first packet of a stream is 0. */
  update(arrivalMs: number, timestamp: number): number {
    const transitMs = arrivalMs - (this.#started ? tsDiff(this.#baseTimestamp, timestamp) / this.#unitsPerMs : 0);
    if (!this.#started) {
      this.#started = true;
      this.#baseTimestamp = timestamp;
      this.#floorMs = transitMs;
    } else {
      this.#floorMs = Math.min(this.#floorMs + Math.max(0, arrivalMs - this.#lastArrivalMs) * FLOOR_RISE_PER_MS, transitMs);
    }
    this.#lastArrivalMs = Math.max(this.#lastArrivalMs, arrivalMs);
    return transitMs - this.#floorMs;
  }

  /** A new stream: its timestamps say nothing about the old one's. */
  restart(): void {
    this.#started = false;
  }
}
