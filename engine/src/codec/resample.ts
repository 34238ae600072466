/**
 * Streaming 2:1 / 1:2 resamplers between 8 kHz and 16 kHz, built on the shared
 * half-band FIR (`halfband.ts`: flat to 3.4 kHz, ≥ 70 dB stopband from 4.6 kHz).
 *
 * Each instance carries the filter history from one call to the next, so
 * feeding a stream frame by frame gives exactly the samples one long call would
 * (no seams at 20 ms boundaries). One instance per direction per stream; they
 * hold no external resources, so there is nothing to close. Work buffers are
 * allocated once in the constructor; input longer than the internal chunk is
 * processed in several passes rather than growing anything.
 *
 * Arithmetic is double precision; outputs are rounded to nearest and clamped to
 * int16 (a full-scale square wave overshoots, and must saturate, not wrap).
 */
import { checkDestination, checkSource } from './bounds.js';
import { designHalfband, type HalfbandDesign } from './halfband.js';

/** Input samples processed per internal pass; 60 ms at either rate, so a 20 ms frame is one pass. */
const CHUNK = 960;

const SHARED_DESIGN: HalfbandDesign = designHalfband();

function clampRound(value: number): number {
  const r = Math.round(value);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

/**
 * 8 kHz → 16 kHz. Polyphase: every even output is an input sample (the half-band
 * centre tap), every odd output is a 2·sideTaps-tap interpolation between them.
 */
export class Upsampler8to16 {
  /** Group delay in output (16 kHz) samples: output 2n+delay corresponds to input n. */
  readonly delaySamples: number;

  readonly #half: number; // sideTaps
  readonly #taps: Float64Array; // 2 · odd[i]: the interpolator gain compensates the zero-stuffing
  readonly #history: number; // input samples kept between calls
  readonly #buf: Float64Array; // history + chunk, as doubles so the inner loop does no int-to-float conversion

  constructor(design: HalfbandDesign = SHARED_DESIGN) {
    this.#half = design.sideTaps;
    this.#taps = new Float64Array(design.sideTaps);
    for (let i = 0; i < design.sideTaps; i++) this.#taps[i] = 2 * design.odd[i]!;
    this.#history = 2 * design.sideTaps - 1;
    this.#buf = new Float64Array(this.#history + CHUNK);
    this.delaySamples = 2 * design.sideTaps;
  }

  /** Resamples src[0..count) into dst[0..2·count). Returns 2·count. RangeError if src or dst is too short. */
  process(src: Int16Array, count: number, dst: Int16Array): number {
    checkSource(src.length, 0, count, 'samples');
    checkDestination(dst.length, 0, 2 * count, 'samples');
    const buf = this.#buf;
    const hist = this.#history;
    const half = this.#half;
    const taps = this.#taps;
    let out = 0;
    for (let done = 0; done < count; ) {
      const n = Math.min(CHUNK, count - done);
      // A plain copy loop: `set(src.subarray(...))` would allocate a view per call.
      for (let k = 0; k < n; k++) buf[hist + k] = src[done + k]!;
      for (let t = 0; t < n; t++) {
        // buf[t + half - 1] and buf[t + half] are the two inputs this odd output falls between.
        dst[out++] = buf[t + half - 1]!;
        let acc = 0;
        for (let i = 0; i < half; i++) {
          acc += taps[i]! * (buf[t + half - 1 - i]! + buf[t + half + i]!);
        }
        dst[out++] = clampRound(acc);
      }
      buf.copyWithin(0, n, n + hist);
      done += n;
    }
    return out;
  }

  /** Forgets the history (as if fed silence forever): for a new, unrelated stream. */
  reset(): void {
    this.#buf.fill(0);
  }
}

/**
 * 16 kHz → 8 kHz: half-band low-pass then keep every second sample, computing
 * only the samples kept. The filter is folded (symmetric taps share a multiply).
 */
export class Downsampler16to8 {
  /** Group delay in output (8 kHz) samples: output n+delay corresponds to input 2n. */
  readonly delaySamples: number;

  readonly #half: number;
  readonly #taps: Float64Array;
  readonly #history: number;
  readonly #buf: Float64Array; // history + chunk, as doubles so the inner loop does no int-to-float conversion

  constructor(design: HalfbandDesign = SHARED_DESIGN) {
    this.#half = design.sideTaps;
    this.#taps = design.odd.slice();
    // Even, so that a kept sample's position never depends on where the previous call ended.
    this.#history = 4 * design.sideTaps;
    this.#buf = new Float64Array(this.#history + CHUNK);
    this.delaySamples = design.sideTaps;
  }

  /**
   * Resamples src[0..count) into dst[0..count/2). `count` must be even (a 20 ms
   * slin16 frame is 320). Returns count/2. RangeError for an odd count or a short src or dst.
   */
  process(src: Int16Array, count: number, dst: Int16Array): number {
    checkSource(src.length, 0, count, 'samples');
    if (count % 2 !== 0) {
      throw new RangeError(`Downsampler16to8 needs an even sample count, got ${count}`);
    }
    checkDestination(dst.length, 0, count / 2, 'samples');
    const buf = this.#buf;
    const hist = this.#history;
    const half = this.#half;
    const centre = 2 * half;
    const taps = this.#taps;
    let out = 0;
    for (let done = 0; done < count; ) {
      const n = Math.min(CHUNK, count - done);
      // A plain copy loop: `set(src.subarray(...))` would allocate a view per call.
      for (let k = 0; k < n; k++) buf[hist + k] = src[done + k]!;
      for (let t = 0; t < n; t += 2) {
        const c = t + centre;
        let acc = 0.5 * buf[c]!;
        for (let i = 0; i < half; i++) {
          const k = 2 * i + 1;
          acc += taps[i]! * (buf[c - k]! + buf[c + k]!);
        }
        dst[out++] = clampRound(acc);
      }
      buf.copyWithin(0, n, n + hist);
      done += n;
    }
    return out;
  }

  /** Forgets the history (as if fed silence forever): for a new, unrelated stream. */
  reset(): void {
    this.#buf.fill(0);
  }
}
