import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  designPolyphaseLowpass,
  Downsampler24to16,
  Downsampler24to8,
  PolyphaseResampler,
  polyphaseResponse,
  Upsampler16to24,
  Upsampler8to24,
} from '../../../engine/src/codec/resample-24k.js';
import { db, rms, sine, toneAmplitude, zeroCrossingFrequency } from './signal.js';

const AMPLITUDE = 10000;

function runAll(r: PolyphaseResampler, src: Int16Array): Int16Array {
  const out = new Int16Array(r.outputFor(src.length));
  expect(r.process(src, src.length, out)).toBe(out.length);
  return out;
}

/** Feeds `src` in frames of the given sizes (cycled) and concatenates the outputs. */
function inFrames(r: PolyphaseResampler, src: Int16Array, sizes: readonly number[]): Int16Array {
  const parts: number[] = [];
  const frame = new Int16Array(Math.max(...sizes));
  const dst = new Int16Array(Math.ceil((frame.length * r.toRate) / r.fromRate) + 1);
  let at = 0;
  for (let k = 0; at < src.length; k++) {
    const n = Math.min(sizes[k % sizes.length]!, src.length - at);
    frame.set(src.subarray(at, at + n));
    const expected = r.outputFor(n);
    const w = r.process(frame, n, dst);
    expect(w).toBe(expected);
    for (let i = 0; i < w; i++) parts.push(dst[i]!);
    at += n;
  }
  return Int16Array.from(parts);
}

function noise(count: number, seed: number): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = (seed >>> 16) - 32768;
  }
  return out;
}

const cases = [
  { name: 'Upsampler8to24', make: () => new Upsampler8to24(), from: 8000, to: 24000 },
  { name: 'Upsampler16to24', make: () => new Upsampler16to24(), from: 16000, to: 24000 },
  { name: 'Downsampler24to8', make: () => new Downsampler24to8(), from: 24000, to: 8000 },
  { name: 'Downsampler24to16', make: () => new Downsampler24to16(), from: 24000, to: 16000 },
] as const;

describe('polyphase design', () => {
  it.each(cases)('$name: flat within 0.05 dB to 85 % of the lower Nyquist, −6 dB at it, ≥ 69 dB down from 115 %', ({ from, to }) => {
    const d = designPolyphaseLowpass(from, to);
    const nyquist = Math.min(from, to) / 2;
    let passDev = 0;
    for (let f = 0; f <= 0.85 * nyquist; f += 10) passDev = Math.max(passDev, Math.abs(db(polyphaseResponse(d, f))));
    let stop = -Infinity;
    for (let f = 1.15 * nyquist; f <= (from * d.up) / 2; f += 10) stop = Math.max(stop, db(polyphaseResponse(d, f)));
    expect(passDev).toBeLessThan(0.05);
    expect(stop).toBeLessThan(-69);
    expect(db(polyphaseResponse(d, nyquist))).toBeCloseTo(-6.02, 1);
  });

  it('every polyphase branch has unity DC gain', () => {
    for (const { from, to } of cases) {
      for (const branch of designPolyphaseLowpass(from, to).phases) {
        expect(branch.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
    }
  });

  it('rejects nonsense rates and ratios', () => {
    expect(() => designPolyphaseLowpass(0, 24000)).toThrow(RangeError);
    expect(() => designPolyphaseLowpass(8000.5, 24000)).toThrow(RangeError);
    expect(() => designPolyphaseLowpass(44100, 24000)).toThrow(RangeError); // 147/80
    expect(() => designPolyphaseLowpass(8000, 24000, 10)).toThrow(RangeError);
    expect(() => new PolyphaseResampler(8000, 16000, designPolyphaseLowpass(8000, 24000))).toThrow(RangeError);
  });
});

describe('upsampling to 24 kHz', () => {
  it.each([
    { name: 'Upsampler8to24', make: () => new Upsampler8to24(), from: 8000 },
    { name: 'Upsampler16to24', make: () => new Upsampler16to24(), from: 16000 },
  ])('$name keeps a 1 kHz tone (frequency, level within 1 dB) and leaves its images at 7 and 9 kHz ≥ 40 dB down', ({ make, from }) => {
    const input = sine(from, 1000, from, AMPLITUDE);
    const out = runAll(make(), input);
    expect(out.length).toBe(24000);
    // Skip the filter's start-up; 2400 samples at 24 kHz hold whole cycles of 1, 7 and 9 kHz.
    const level = toneAmplitude(out, 2400, 2400, 1000, 24000);
    expect(Math.abs(db(level / AMPLITUDE))).toBeLessThan(1);
    expect(zeroCrossingFrequency(out.subarray(2400), 24000)).toBeCloseTo(1000, 0);
    for (const image of [7000, 9000]) {
      expect(db(toneAmplitude(out, 2400, 2400, image, 24000) / level)).toBeLessThan(-40);
    }
    // Everything but the tone (images, ripple, rounding) stays 40 dB under it: compare with the
    // ideal tone delayed by the design's (possibly fractional) group delay.
    const r = make();
    const ideal = sine(24000, 1000, 24000, AMPLITUDE, (-2 * Math.PI * 1000 * r.delaySamples) / 24000);
    const residual = new Float64Array(2400);
    for (let i = 0; i < 2400; i++) residual[i] = out[2400 + i]! - ideal[2400 + i]!;
    expect(db(rms(residual) / AMPLITUDE)).toBeLessThan(-40);
  });

  it('Upsampler8to24 is not sample repetition: triplicating samples leaves a strong 7 kHz image, the filter does not', () => {
    const input = sine(8000, 1000, 8000, AMPLITUDE);
    const out = runAll(new Upsampler8to24(), input);
    const naive = new Int16Array(24000);
    for (let i = 0; i < 8000; i++) naive[3 * i] = naive[3 * i + 1] = naive[3 * i + 2] = input[i]!;
    expect(db(toneAmplitude(naive, 2400, 2400, 7000, 24000) / AMPLITUDE)).toBeGreaterThan(-25);
    expect(toneAmplitude(out, 2400, 2400, 7000, 24000)).toBeLessThan(toneAmplitude(naive, 2400, 2400, 7000, 24000) / 100);
    let equalRuns = 0;
    for (let i = 800; i < 8000; i++) if (out[3 * i] === out[3 * i + 1] && out[3 * i + 1] === out[3 * i + 2]) equalRuns++;
    expect(equalRuns).toBeLessThan(100);
  });
});

describe('downsampling from 24 kHz', () => {
  it.each([
    { name: 'Downsampler24to8', make: () => new Downsampler24to8(), to: 8000, outOfBand: [5000, 6000, 9000] },
    { name: 'Downsampler24to16', make: () => new Downsampler24to16(), to: 16000, outOfBand: [9500, 10000, 11000] },
  ])('$name keeps a 1 kHz tone within 1 dB and attenuates out-of-band tones (which would alias) by ≥ 40 dB', ({ make, to, outOfBand }) => {
    const input = sine(24000, 1000, 24000, AMPLITUDE);
    const out = runAll(make(), input);
    expect(out.length).toBe(to);
    const level = toneAmplitude(out, to / 10, to / 10, 1000, to);
    expect(Math.abs(db(level / AMPLITUDE))).toBeLessThan(1);
    expect(zeroCrossingFrequency(out.subarray(to / 10), to)).toBeCloseTo(1000, 0);
    for (const f of outOfBand) {
      const tone = sine(24000, f, 24000, AMPLITUDE);
      const aliased = runAll(make(), tone);
      expect(db(rms(aliased, to / 10, to - to / 5) / rms(tone))).toBeLessThan(-40);
    }
    // Plain decimation would keep the 6 kHz (or 10 kHz) tone at full level as an alias.
    const f = outOfBand[1]!;
    const tone = sine(24000, f, 24000, AMPLITUDE);
    const step = 24000 / to;
    const naive = new Int16Array(to);
    for (let i = 0; i < to; i++) naive[i] = tone[Math.floor(i * step)]!;
    expect(db(rms(naive) / rms(tone))).toBeGreaterThan(-3);
  });

  it('up then down returns the 8 kHz signal, delayed by both filters', () => {
    const input = sine(1600, 440, 8000, AMPLITUDE);
    const up = new Upsampler8to24();
    const down = new Downsampler24to8();
    const back = runAll(down, runAll(up, input));
    // A pure tone delayed by both filters (fractional delays included) is what must come back.
    const delay = up.delaySamples / 3 + down.delaySamples;
    const expected = sine(1600, 440, 8000, AMPLITUDE, (-2 * Math.PI * 440 * delay) / 8000);
    let maxErr = 0;
    for (let n = 200; n < 1600; n++) maxErr = Math.max(maxErr, Math.abs(back[n]! - expected[n]!));
    expect(maxErr).toBeLessThanOrEqual(4);
  });
});

describe('streaming behaviour', () => {
  it.each(cases)('$name: frame-by-frame (20 ms and odd sizes) equals one-shot', ({ make, from }) => {
    const input = noise(5003, from);
    const oneShot = runAll(make(), input);
    expect(Array.from(inFrames(make(), input, [from / 50]))).toEqual(Array.from(oneShot));
    expect(Array.from(inFrames(make(), input, [1, 7, 161, 1000, 2]))).toEqual(Array.from(oneShot));
  });

  it('frame splits never change the output (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 1500 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
        (c, values, sizes) => {
          const input = Int16Array.from(values);
          expect(Array.from(inFrames(c.make(), input, sizes))).toEqual(Array.from(runAll(c.make(), input)));
        },
      ),
      { numRuns: 80 },
    );
  });

  it.each(cases)('$name: 20 ms in gives exactly 20 ms out, every frame, and inputFor() inverts outputFor()', ({ make, from, to }) => {
    const r = make();
    const frame = new Int16Array(from / 50);
    const dst = new Int16Array(to / 50);
    for (let k = 0; k < 20; k++) {
      // From the very first frame: a player pulling 20 ms of output asks for exactly 20 ms of input.
      expect(r.inputFor(to / 50)).toBe(from / 50);
      expect(r.process(frame, frame.length, dst)).toBe(to / 50);
    }
    const odd = make();
    odd.process(new Int16Array(7), 7, new Int16Array(30)); // leave a fractional phase behind
    for (const want of [1, 2, 159, 160, 320, 481]) {
      const need = odd.inputFor(want);
      expect(odd.outputFor(need)).toBeGreaterThanOrEqual(want);
      expect(odd.outputFor(need - 1)).toBeLessThan(want);
    }
  });

  it('passes DC at exactly unity gain', () => {
    for (const { make, from } of cases) {
      const out = runAll(make(), new Int16Array(from / 10).fill(-1234));
      for (let i = out.length / 2; i < out.length; i++) expect(out[i]).toBe(-1234);
    }
  });

  it('saturates instead of wrapping on full-scale input', () => {
    const square = new Int16Array(2400);
    for (let i = 0; i < square.length; i++) square[i] = Math.floor(i / 24) % 2 === 0 ? 32767 : -32768;
    const out = runAll(new Downsampler24to8(), square);
    expect(Math.max(...out)).toBe(32767);
    expect(Math.min(...out)).toBe(-32768);
    // Overshoot past full scale clips at the rails: mid-half-cycle outputs keep the input's sign.
    const delay = Math.round(new Downsampler24to8().delaySamples);
    for (let n = 100; n < 790; n++) {
      const pos = (3 * (n - delay)) % 48;
      if (pos < 6 || (pos > 18 && pos < 30) || pos > 42) continue;
      expect(Math.sign(out[n]!)).toBe(square[3 * (n - delay)]! > 0 ? 1 : -1);
    }
  });

  it('reset() forgets the previous stream, phase included', () => {
    const r = new Downsampler24to16();
    const dst = new Int16Array(400);
    r.process(sine(481, 3000, 24000, 20000), 481, dst);
    r.reset();
    const tone = sine(480, 700, 24000, 9000);
    const n = r.process(tone, 480, dst);
    const fresh = runAll(new Downsampler24to16(), tone);
    expect(Array.from(dst.subarray(0, n))).toEqual(Array.from(fresh));
  });

  it('RangeError on a short destination or a count beyond the source, consuming nothing', () => {
    const up = new Upsampler8to24();
    expect(() => up.process(new Int16Array(160), 160, new Int16Array(479))).toThrow(RangeError);
    expect(() => up.process(new Int16Array(160), 161, new Int16Array(600))).toThrow(RangeError);
    expect(() => up.process(new Int16Array(160), -1, new Int16Array(600))).toThrow(RangeError);
    expect(up.process(new Int16Array(160), 0, new Int16Array(0))).toBe(0);
    const fresh = runAll(new Upsampler8to24(), sine(160, 500, 8000, 5000));
    expect(Array.from(runAll(up, sine(160, 500, 8000, 5000)))).toEqual(Array.from(fresh));
  });
});
