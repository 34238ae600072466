import type { Direction, MediaFrame } from '../pipeline/index.js';
import { PcmRingWriter, type PcmRingLayout } from '../tap/pcm-ring.js';
import type { FrameObserver } from './media-direction.js';

/**
 * What a listener hears of a pair: a leg as it arrived (`A`: the caller, `B`: the callee), both mixed
 * (`mix`), or what the engine sends a leg (`toA`, `toB`: on a translated pair, the translation).
 */
export type TapSource = 'A' | 'B' | 'mix' | 'toA' | 'toB';
export const TAP_SOURCES: readonly TapSource[] = ['A', 'B', 'mix', 'toA', 'toB'];

/**
 * One listener's tap on a pair, run inside the tick as a FrameObserver: it copies the chosen audio into a
 * shared ring (PcmRingWriter) and never waits — a full ring drops the frame and counts it. A frame at
 * another rate than the ring's (translated speech at 16 kHz on an 8 kHz leg) is resampled by nearest
 * sample: enough to listen, and no state to keep. A tick with nothing (the jitter buffer waiting, the
 * stage silent) writes silence, so the listener's clock keeps running.
 */
export class PairTap implements FrameObserver {
  readonly id: string;
  readonly source: TapSource;
  readonly #ring: PcmRingWriter;
  readonly #scratch: Int16Array;
  /** For `mix`: each direction's frame of this period, summed once both are in. */
  readonly #mixA: Int16Array;
  readonly #mixB: Int16Array;
  #haveA = false;
  #haveB = false;

  constructor(id: string, source: TapSource, layout: PcmRingLayout) {
    this.id = id;
    this.source = source;
    this.#ring = new PcmRingWriter(layout);
    this.#scratch = new Int16Array(layout.frameSamples);
    this.#mixA = new Int16Array(layout.frameSamples);
    this.#mixB = new Int16Array(layout.frameSamples);
  }

  get closed(): boolean {
    return this.#ring.closed;
  }

  close(): void {
    this.#ring.close();
  }

  frame(direction: Direction, input: MediaFrame | null, output: MediaFrame | null): void {
    switch (this.source) {
      case 'A':
        if (direction === 'A->B') this.#write(input);
        return;
      case 'B':
        if (direction === 'B->A') this.#write(input);
        return;
      case 'toB':
        if (direction === 'A->B') this.#write(output);
        return;
      case 'toA':
        if (direction === 'B->A') this.#write(output);
        return;
      case 'mix':
        this.#mix(direction, input);
        return;
    }
  }

  #write(frame: MediaFrame | null): void {
    this.#ring.write(this.#fit(frame, this.#scratch));
  }

  #mix(direction: Direction, frame: MediaFrame | null): void {
    const fromA = direction === 'A->B';
    // The same direction twice before the other: the other missed a period, flush what we have.
    if (fromA ? this.#haveA : this.#haveB) this.#flushMix();
    this.#fit(frame, fromA ? this.#mixA : this.#mixB);
    if (fromA) this.#haveA = true;
    else this.#haveB = true;
    if (this.#haveA && this.#haveB) this.#flushMix();
  }

  #flushMix(): void {
    const out = this.#scratch;
    const a = this.#mixA;
    const b = this.#mixB;
    for (let i = 0; i < out.length; i++) {
      const s = (this.#haveA ? (a[i] ?? 0) : 0) + (this.#haveB ? (b[i] ?? 0) : 0);
      out[i] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
    }
    this.#haveA = false;
    this.#haveB = false;
    this.#ring.write(out);
  }

  /** The frame as exactly one ring frame (silence for none), in `into`. */
  #fit(frame: MediaFrame | null, into: Int16Array): Int16Array {
    const n = into.length;
    if (frame === null || frame.samples <= 0) {
      into.fill(0);
      return into;
    }
    if (frame.samples === n) {
      into.set(frame.pcm.subarray(0, n));
      return into;
    }
    const step = frame.samples / n;
    for (let i = 0; i < n; i++) into[i] = frame.pcm[Math.floor(i * step)] ?? 0;
    return into;
  }
}
