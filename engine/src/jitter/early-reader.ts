import { ArrivalLateness } from './arrival-lateness.js';
import type { FrameRing } from './frame-ring.js';
import type { FrameDecoder } from './jitter-types.js';

/**
 * The jitter buffer's second reader, for a stream that feeds recognition: it hands over each stored frame in
 * sequence order as soon as it is there, without waiting for playout, and marks it in the ring so playout can say
 * which frames the early reader already had. It never moves playout state; the buffer tells it where the play head is.
 */
export class EarlyReader {
  readonly #frameSamples: number;
  readonly #lateness: ArrivalLateness;
  #enabled = false;
  /** Extended sequence of the next frame read hands over (clamped up to the play head when used). */
  #nextExt = 0;
  #lastArrivalMs = Number.NaN;
  #lastTimestamp = 0;
  #lastLatenessMs = 0;

  constructor(clockRate: number, frameSamples: number) {
    this.#frameSamples = frameSamples;
    this.#lateness = new ArrivalLateness(clockRate);
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Arrival (push's nowMs) of the frame read last returned. */
  get lastArrivalMs(): number {
    return this.#lastArrivalMs;
  }

  /** RTP timestamp of the frame read last returned. */
  get lastTimestamp(): number {
    return this.#lastTimestamp;
  }

  /** How late the frame read last returned arrived against its stream's timing (see ArrivalLateness). */
  get lastLatenessMs(): number {
    return this.#lastLatenessMs;
  }

  /** Turns early reading on or off; reading resumes from the play head. */
  setEnabled(on: boolean, headExt: number): void {
    if (on && !this.#enabled) this.#lateness.restart();
    this.#enabled = on;
    this.#nextExt = headExt;
  }

  /** Lateness of a packet being stored; 0 when not reading early (a mirrored leg's packets need not pay for it). */
  latenessOf(nowMs: number, ts: number): number {
    return this.#enabled ? this.#lateness.update(nowMs, ts) : 0;
  }

  /** A stream began at `ext`: reading starts there. */
  streamStarted(ext: number): void {
    this.#nextExt = ext;
    this.#lateness.restart();
  }

  /** A stream ended, or the buffer was reset: the next stream's timestamps say nothing about this one's. */
  streamEnded(): void {
    this.#lateness.restart();
  }

  /** A frame just stored at `ext` behind one already handed over: the reader skips it rather than go back in time. */
  skipIfPassed(ring: FrameRing, ext: number): void {
    if (ext < this.#nextExt) ring.markReadEarly(ext);
  }

  /**
   * Decodes the next frame in sequence into `out` if it is stored and not yet read; false when it has not arrived
   * (a later frame waits behind the gap until playout, at `headExt`, passes it).
   */
  read(ring: FrameRing, headExt: number, decode: FrameDecoder, out: Int16Array): boolean {
    if (this.#nextExt < headExt) this.#nextExt = headExt;
    while (ring.has(this.#nextExt)) {
      const ext = this.#nextExt++;
      if (ring.readEarlyOf(ext)) continue;
      ring.markReadEarly(ext);
      const buffer = ring.bufferOf(ext);
      let samples = -1;
      if (buffer !== null) {
        try {
          samples = decode(buffer, ring.offsetOf(ext), ring.lengthOf(ext), out);
        } catch {
          samples = -1;
        }
      }
      // Playout counts the decode error; the early reader gets silence in that frame's place.
      if (!(samples >= 0)) samples = 0;
      if (samples < this.#frameSamples) out.fill(0, samples, this.#frameSamples);
      this.#lastArrivalMs = ring.arrivalOf(ext);
      this.#lastLatenessMs = ring.latenessOf(ext);
      this.#lastTimestamp = ring.timestampOf(ext);
      return true;
    }
    return false;
  }
}
