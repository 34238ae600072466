/**
 * Streaming rational resamplers between the telephone rates (8 / 16 kHz) and
 * 24 kHz, the only PCM rate speech-to-speech services such as the OpenAI
 * Realtime API take and give. 8↔16 kHz has its own half-band pair
 * (`resample.ts`); these cover the 3:1 and 3:2 ratios it cannot.
 *
 * One polyphase FIR per direction: conceptually upsample by L (zero-stuff),
 * low-pass at the lower rate's Nyquist, downsample by M; only the outputs that
 * are kept are computed, each from one phase of the prototype filter. The
 * prototype is a Kaiser-windowed sinc, −6 dB at the lower rate's Nyquist
 * (4 kHz for 8 kHz), flat to 85 % of it (3.4 kHz: all of telephone speech) and
 * at least ~70 dB down from 115 % of it (4.6 kHz), so upsampling leaves no
 * audible images and downsampling no audible aliases. No sample is ever
 * repeated or dropped unfiltered.
 *
 * Like the half-band pair, each instance carries its filter history and its
 * output phase from call to call, so a stream fed frame by frame gives exactly
 * the samples one long call would. Arithmetic is double precision; outputs are
 * rounded and clamped to int16. Nothing external is held: nothing to close.
 */
import { checkDestination, checkSource } from './bounds.js';
import { besselI0 } from './kaiser.js';

/** Input samples handled per internal pass (60 ms at 16 kHz); longer inputs take several passes. */
const CHUNK = 960;
/** Stopband attenuation the Kaiser design aims for. */
const DEFAULT_ATTENUATION_DB = 70;
/** Passband edge and stopband edge, as fractions of the lower rate's Nyquist frequency. */
const PASS_EDGE = 0.85;
const STOP_EDGE = 1.15;
/** Ratios this module accepts (after reduction); anything larger is a configuration mistake, not a telephone rate. */
const MAX_FACTOR = 8;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function clampRound(value: number): number {
  const r = Math.round(value);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

export interface PolyphaseDesign {
  readonly fromRate: number;
  readonly toRate: number;
  /** Interpolation factor L. */
  readonly up: number;
  /** Decimation factor M. */
  readonly down: number;
  /** Taps per polyphase branch; the prototype has up · tapsPerPhase taps. */
  readonly tapsPerPhase: number;
  readonly beta: number;
  /** −6 dB point of the prototype, Hz (half the lower of the two rates). */
  readonly cutoffHz: number;
  /**
   * `phases[p][j]` multiplies the input sample j steps back for an output that
   * falls at phase p between inputs. Each branch sums to exactly 1, so DC
   * passes at unity gain whatever the phase (no periodic gain ripple).
   */
  readonly phases: readonly Float64Array[];
}

/**
 * Designs the polyphase low-pass for fromRate → toRate. RangeError for rates
 * that are not positive integers or whose reduced ratio exceeds 8:8.
 */
export function designPolyphaseLowpass(fromRate: number, toRate: number, attenuationDb: number = DEFAULT_ATTENUATION_DB): PolyphaseDesign {
  for (const [name, rate] of [
    ['fromRate', fromRate],
    ['toRate', toRate],
  ] as const) {
    if (!Number.isInteger(rate) || rate <= 0) throw new RangeError(`${name} must be a positive integer, got ${rate}`);
  }
  if (!(attenuationDb >= 21 && attenuationDb <= 140)) throw new RangeError(`attenuationDb must be within 21..140, got ${attenuationDb}`);
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  if (up > MAX_FACTOR || down > MAX_FACTOR) {
    throw new RangeError(`ratio ${fromRate}:${toRate} reduces to ${up}/${down}; at most ${MAX_FACTOR}/${MAX_FACTOR} is supported`);
  }
  const inner = fromRate * up; // the conceptual zero-stuffed rate
  const nyquist = Math.min(fromRate, toRate) / 2;
  const deltaOmega = (2 * Math.PI * (STOP_EDGE - PASS_EDGE) * nyquist) / inner;
  // Kaiser's estimates for the window length and shape that reach attenuationDb over deltaOmega.
  const beta = attenuationDb > 50 ? 0.1102 * (attenuationDb - 8.7) : 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  const minLength = Math.ceil((attenuationDb - 7.95) / (2.285 * deltaOmega)) + 1;
  const tapsPerPhase = Math.max(2, Math.ceil(minLength / up));
  const length = tapsPerPhase * up;
  const centre = (length - 1) / 2;
  const fc = nyquist / inner; // cycles per inner sample
  const i0Beta = besselI0(beta);
  const proto = new Float64Array(length);
  for (let k = 0; k < length; k++) {
    const x = k - centre;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const r = x / (centre + 1);
    proto[k] = sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta);
  }
  const phases: Float64Array[] = [];
  for (let p = 0; p < up; p++) {
    const branch = new Float64Array(tapsPerPhase);
    let sum = 0;
    for (let j = 0; j < tapsPerPhase; j++) sum += (branch[j] = proto[p + j * up]!);
    for (let j = 0; j < tapsPerPhase; j++) branch[j] = branch[j]! / sum;
    phases.push(branch);
  }
  return { fromRate, toRate, up, down, tapsPerPhase, beta, cutoffHz: nyquist, phases };
}

/**
 * Magnitude response (linear, 1 at DC) of the design's prototype at `freqHz`,
 * on the zero-stuffed rate: what happens to a tone (or, for upsampling, to its
 * images) on the way through.
 */
export function polyphaseResponse(design: PolyphaseDesign, freqHz: number): number {
  const inner = design.fromRate * design.up;
  const w = (2 * Math.PI * freqHz) / inner;
  let re = 0;
  let im = 0;
  for (let p = 0; p < design.up; p++) {
    const branch = design.phases[p]!;
    for (let j = 0; j < design.tapsPerPhase; j++) {
      const k = p + j * design.up;
      re += branch[j]! * Math.cos(w * k);
      im -= branch[j]! * Math.sin(w * k);
    }
  }
  return Math.hypot(re, im) / design.up;
}

/**
 * A streaming L/M resampler. `process()` turns any number of input samples
 * into however many outputs fall inside them (`outputFor(count)` tells how
 * many in advance; `inputFor(n)` how many inputs yield n outputs), keeping
 * the fractional position for the next call.
 */
export class PolyphaseResampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Group delay in output samples (may be fractional): output m corresponds to input time m − delaySamples. */
  readonly delaySamples: number;

  readonly #up: number;
  readonly #down: number;
  readonly #taps: number;
  readonly #flat: Float64Array; // phase p's taps at [p · taps, (p + 1) · taps): one array keeps the inner loop monomorphic
  readonly #history: number;
  readonly #buf: Float64Array; // history + chunk, as doubles so the inner loop does no int-to-float conversion
  readonly #t0: number;
  #t: number; // next output's position on the zero-stuffed grid, relative to the next input sample

  constructor(fromRate: number, toRate: number, design: PolyphaseDesign = designPolyphaseLowpass(fromRate, toRate)) {
    if (design.fromRate !== fromRate || design.toRate !== toRate) {
      throw new RangeError(`design is for ${design.fromRate} → ${design.toRate}, not ${fromRate} → ${toRate}`);
    }
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.#up = design.up;
    this.#down = design.down;
    this.#taps = design.tapsPerPhase;
    this.#flat = new Float64Array(design.up * design.tapsPerPhase);
    design.phases.forEach((branch, p) => this.#flat.set(branch, p * design.tapsPerPhase));
    this.#history = design.tapsPerPhase - 1;
    this.#buf = new Float64Array(this.#history + CHUNK);
    // When decimating, outputs start M − L steps in, so the last output of a block of whole frames
    // (480 samples at 24 kHz → 160 at 8 kHz) uses exactly the block's last input: a 20 ms frame in
    // consumes 20 ms of input, never one sample short (which would leave a stray sample per response).
    this.#t0 = Math.max(0, design.down - design.up);
    this.#t = this.#t0;
    this.delaySamples = ((design.up * design.tapsPerPhase - 1) / 2 - this.#t0) / design.down;
  }

  /** Outputs the next process() call with `count` inputs will write. */
  outputFor(count: number): number {
    const span = count * this.#up - this.#t;
    return span <= 0 ? 0 : Math.ceil(span / this.#down);
  }

  /** Fewest inputs the next process() call needs to write `outputs` samples (it may write more when upsampling). */
  inputFor(outputs: number): number {
    if (outputs <= 0) return 0;
    return Math.floor((this.#t + (outputs - 1) * this.#down) / this.#up) + 1;
  }

  /**
   * Resamples src[0..count) into dst[0..). Returns how many samples it wrote
   * (= outputFor(count) before the call). RangeError if src is shorter than
   * count or dst cannot hold the output; nothing is consumed then.
   */
  process(src: Int16Array, count: number, dst: Int16Array): number {
    checkSource(src.length, 0, count, 'samples');
    checkDestination(dst.length, 0, this.outputFor(count), 'samples');
    const buf = this.#buf;
    const hist = this.#history;
    const up = this.#up;
    const down = this.#down;
    const taps = this.#taps;
    const flat = this.#flat;
    let out = 0;
    let t = this.#t;
    for (let done = 0; done < count; ) {
      const n = Math.min(CHUNK, count - done);
      // A plain copy loop: `set(src.subarray(...))` would allocate a view per call.
      for (let k = 0; k < n; k++) buf[hist + k] = src[done + k]!;
      const limit = n * up;
      for (; t < limit; t += down) {
        const base = Math.floor(t / up);
        const off = (t - base * up) * taps;
        const newest = hist + base;
        let acc = 0;
        for (let j = 0; j < taps; j++) acc += flat[off + j]! * buf[newest - j]!;
        dst[out++] = clampRound(acc);
      }
      t -= limit;
      buf.copyWithin(0, n, n + hist);
      done += n;
    }
    this.#t = t;
    return out;
  }

  /** Forgets history and phase (as if fed silence forever): for a new, unrelated stream. */
  reset(): void {
    this.#buf.fill(0);
    this.#t = this.#t0;
  }
}

// Designed once per process: every stream of a given direction shares the (read-only) taps.
const DESIGN_8_TO_24 = designPolyphaseLowpass(8000, 24000);
const DESIGN_16_TO_24 = designPolyphaseLowpass(16000, 24000);
const DESIGN_24_TO_8 = designPolyphaseLowpass(24000, 8000);
const DESIGN_24_TO_16 = designPolyphaseLowpass(24000, 16000);

/** 8 kHz → 24 kHz (1:3). */
export class Upsampler8to24 extends PolyphaseResampler {
  constructor() {
    super(8000, 24000, DESIGN_8_TO_24);
  }
}

/** 16 kHz → 24 kHz (2:3). */
export class Upsampler16to24 extends PolyphaseResampler {
  constructor() {
    super(16000, 24000, DESIGN_16_TO_24);
  }
}

/** 24 kHz → 8 kHz (3:1). */
export class Downsampler24to8 extends PolyphaseResampler {
  constructor() {
    super(24000, 8000, DESIGN_24_TO_8);
  }
}

/** 24 kHz → 16 kHz (3:2). */
export class Downsampler24to16 extends PolyphaseResampler {
  constructor() {
    super(24000, 16000, DESIGN_24_TO_16);
  }
}
