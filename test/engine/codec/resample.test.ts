import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  designHalfband,
  Downsampler16to8,
  halfbandResponse,
  Upsampler8to16,
} from '../../../engine/src/codec/index.js';
import { db, rms, sine, toneAmplitude, zeroCrossingFrequency } from './signal.js';

const AMPLITUDE = 10000;

function upsampleAll(src: Int16Array): Int16Array {
  const out = new Int16Array(src.length * 2);
  expect(new Upsampler8to16().process(src, src.length, out)).toBe(src.length * 2);
  return out;
}

function downsampleAll(src: Int16Array): Int16Array {
  const out = new Int16Array(src.length / 2);
  expect(new Downsampler16to8().process(src, src.length, out)).toBe(src.length / 2);
  return out;
}

/** Feeds `src` in frames of the given sizes (cycled) and concatenates the outputs. */
function inFrames(src: Int16Array, sizes: readonly number[], step: (frame: Int16Array, n: number, dst: Int16Array) => number, ratio: number): Int16Array {
  const out = new Int16Array(Math.round(src.length * ratio));
  const frame = new Int16Array(Math.max(...sizes));
  const dst = new Int16Array(Math.ceil(frame.length * ratio));
  let at = 0;
  let written = 0;
  for (let k = 0; at < src.length; k++) {
    const n = Math.min(sizes[k % sizes.length]!, src.length - at);
    frame.set(src.subarray(at, at + n));
    const w = step(frame, n, dst);
    out.set(dst.subarray(0, w), written);
    written += w;
    at += n;
  }
  expect(written).toBe(out.length);
  return out;
}

describe('half-band design', () => {
  it('is flat to 3.4 kHz and at least 60 dB down from 4.6 kHz (at 16 kHz)', () => {
    const d = designHalfband();
    let passDev = 0;
    for (let f = 0; f <= 3400; f += 10) passDev = Math.max(passDev, Math.abs(db(halfbandResponse(d, f, 16000))));
    let stop = -Infinity;
    for (let f = 4600; f <= 8000; f += 10) stop = Math.max(stop, db(halfbandResponse(d, f, 16000)));
    expect(passDev).toBeLessThan(0.05);
    expect(stop).toBeLessThan(-60);
    expect(db(halfbandResponse(d, 4000, 16000))).toBeCloseTo(-6.02, 1);
  });

  it('rejects nonsense parameters', () => {
    expect(() => designHalfband(0)).toThrow(RangeError);
    expect(() => designHalfband(2.5)).toThrow(RangeError);
    expect(() => designHalfband(8, Number.NaN)).toThrow(RangeError);
  });
});

describe('Upsampler8to16', () => {
  it('keeps a 1 kHz tone (frequency and level within 0.5 dB) and puts its 7 kHz image at least 40 dB down', () => {
    const input = sine(8000, 1000, 8000, AMPLITUDE);
    const out = upsampleAll(input);
    // Skip the filter's start-up; 1600 samples at 16 kHz hold whole cycles of 1 and 7 kHz.
    const start = 800;
    const inLevel = toneAmplitude(input, 400, 800, 1000, 8000);
    const level = toneAmplitude(out, start, 1600, 1000, 16000);
    const image = toneAmplitude(out, start, 1600, 7000, 16000);
    expect(Math.abs(db(level / inLevel))).toBeLessThan(0.5);
    expect(db(image / level)).toBeLessThan(-40);
    expect(zeroCrossingFrequency(out.subarray(start), 16000)).toBeCloseTo(1000, 0);
  });

  it('is not sample repetition: it interpolates, and is much smoother than duplicating samples', () => {
    const input = sine(8000, 1000, 8000, AMPLITUDE);
    const out = upsampleAll(input);
    const naive = new Int16Array(16000);
    for (let i = 0; i < 8000; i++) naive[2 * i] = naive[2 * i + 1] = input[i]!;
    let equalPairs = 0;
    for (let i = 400; i < 8000; i++) if (out[2 * i] === out[2 * i + 1]) equalPairs++;
    expect(equalPairs).toBeLessThan(100);
    // Duplication leaves a strong image at 7 kHz; the filter removes it.
    const naiveImage = toneAmplitude(naive, 800, 1600, 7000, 16000);
    const image = toneAmplitude(out, 800, 1600, 7000, 16000);
    expect(db(naiveImage / AMPLITUDE)).toBeGreaterThan(-25);
    expect(image).toBeLessThan(naiveImage / 100);
    // Smoother: far less energy in the second difference.
    const roughness = (x: Int16Array): number => {
      let s = 0;
      for (let i = 801; i < x.length - 1; i++) s += (x[i + 1]! - 2 * x[i]! + x[i - 1]!) ** 2;
      return s;
    };
    expect(roughness(out)).toBeLessThan(roughness(naive) / 4);
  });

  it('delays by delaySamples: even outputs are the input, delayed', () => {
    const up = new Upsampler8to16();
    expect(up.delaySamples).toBe(32);
    const input = new Int16Array(160);
    input[10] = 20000;
    const out = new Int16Array(320);
    up.process(input, 160, out);
    let peak = 0;
    for (let i = 0; i < out.length; i++) if (Math.abs(out[i]!) > Math.abs(out[peak]!)) peak = i;
    expect(peak).toBe(2 * 10 + up.delaySamples);
    expect(out[peak]).toBe(20000);
    for (let n = 0; n < 160 - 16; n++) expect(out[2 * n + up.delaySamples]).toBe(input[n]);
  });

  it('passes DC at exactly unity gain', () => {
    const out = upsampleAll(new Int16Array(400).fill(-1234));
    for (let i = 200; i < out.length; i++) expect(out[i]).toBe(-1234);
  });

  it('frame-by-frame (20 ms and odd sizes) equals one-shot, including inputs longer than its internal chunk', () => {
    const input = new Int16Array(5000);
    let seed = 12345;
    for (let i = 0; i < input.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      input[i] = (seed >>> 16) - 32768;
    }
    const oneShot = upsampleAll(input);
    const up20 = new Upsampler8to16();
    expect(Array.from(inFrames(input, [160], (f, n, d) => up20.process(f, n, d), 2))).toEqual(Array.from(oneShot));
    const upOdd = new Upsampler8to16();
    expect(Array.from(inFrames(input, [1, 7, 160, 333, 2], (f, n, d) => upOdd.process(f, n, d), 2))).toEqual(Array.from(oneShot));
  });

  it('frame splits never change the output (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 1, maxLength: 1200 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
        (values, sizes) => {
          const input = Int16Array.from(values);
          const up = new Upsampler8to16();
          expect(Array.from(inFrames(input, sizes, (f, n, d) => up.process(f, n, d), 2))).toEqual(Array.from(upsampleAll(input)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('saturates instead of wrapping on full-scale input', () => {
    const square = new Int16Array(800);
    for (let i = 0; i < square.length; i++) square[i] = Math.floor(i / 8) % 2 === 0 ? 32767 : -32768;
    const out = upsampleAll(square);
    // Overshoot past full scale must clip at the rails: inside each half-cycle the sign never flips.
    let flips = 0;
    for (let n = 100; n < 800; n++) {
      const pos = n % 16;
      if (pos === 0 || pos === 8 || pos === 7 || pos === 15) continue; // edges, where the ringing legitimately crosses
      const expectedSign = square[n - 16]! > 0 ? 1 : -1;
      if (Math.sign(out[2 * n]!) !== expectedSign || Math.sign(out[2 * n + 1]!) !== expectedSign) flips++;
    }
    expect(flips).toBe(0);
    expect(Math.max(...out)).toBe(32767);
    expect(Math.min(...out)).toBe(-32768);
  });

  it('reset() forgets the previous stream', () => {
    const up = new Upsampler8to16();
    const noise = sine(160, 3000, 8000, 20000);
    const tone = sine(160, 500, 8000, 8000);
    const dst = new Int16Array(320);
    up.process(noise, 160, dst);
    up.reset();
    up.process(tone, 160, dst);
    const fresh = new Int16Array(320);
    new Upsampler8to16().process(tone, 160, fresh);
    expect(Array.from(dst)).toEqual(Array.from(fresh));
  });

  it('RangeError on a short destination or a count beyond the source', () => {
    const up = new Upsampler8to16();
    expect(() => up.process(new Int16Array(160), 160, new Int16Array(319))).toThrow(RangeError);
    expect(() => up.process(new Int16Array(160), 161, new Int16Array(400))).toThrow(RangeError);
    expect(() => up.process(new Int16Array(160), -1, new Int16Array(400))).toThrow(RangeError);
    expect(up.process(new Int16Array(160), 0, new Int16Array(0))).toBe(0);
  });
});

describe('Downsampler16to8', () => {
  it('passes a 1 kHz tone within 0.5 dB at the same frequency', () => {
    const input = sine(16000, 1000, 16000, AMPLITUDE);
    const out = downsampleAll(input);
    const level = toneAmplitude(out, 400, 800, 1000, 8000);
    expect(Math.abs(db(level / AMPLITUDE))).toBeLessThan(0.5);
    expect(zeroCrossingFrequency(out.subarray(400), 8000)).toBeCloseTo(1000, 0);
  });

  it('attenuates a 6 kHz tone (which would alias to 2 kHz) by at least 40 dB', () => {
    const input = sine(16000, 6000, 16000, AMPLITUDE);
    const out = downsampleAll(input);
    const residual = rms(out, 400, 7600);
    expect(db(residual / rms(input))).toBeLessThan(-40);
    // Plain decimation (every second sample) would keep it at full level as a 2 kHz alias.
    const decimated = new Int16Array(8000);
    for (let i = 0; i < 8000; i++) decimated[i] = input[2 * i]!;
    expect(db(toneAmplitude(decimated, 400, 800, 2000, 8000) / AMPLITUDE)).toBeGreaterThan(-1);
  });

  it('delays by delaySamples (output samples)', () => {
    const down = new Downsampler16to8();
    expect(down.delaySamples).toBe(16);
    const input = new Int16Array(320);
    input[40] = 20000;
    const out = new Int16Array(160);
    down.process(input, 320, out);
    let peak = 0;
    for (let i = 0; i < out.length; i++) if (Math.abs(out[i]!) > Math.abs(out[peak]!)) peak = i;
    expect(peak).toBe(20 + down.delaySamples);
    expect(out[peak]).toBe(10000); // centre tap 0.5
  });

  it('frame-by-frame (20 ms and other even sizes) equals one-shot, including inputs longer than its internal chunk', () => {
    const input = new Int16Array(6400);
    let seed = 999;
    for (let i = 0; i < input.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      input[i] = (seed >>> 16) - 32768;
    }
    const oneShot = downsampleAll(input);
    const d20 = new Downsampler16to8();
    expect(Array.from(inFrames(input, [320], (f, n, d) => d20.process(f, n, d), 0.5))).toEqual(Array.from(oneShot));
    const dOdd = new Downsampler16to8();
    expect(Array.from(inFrames(input, [2, 966, 320, 14], (f, n, d) => dOdd.process(f, n, d), 0.5))).toEqual(Array.from(oneShot));
  });

  it('up then down returns the 8 kHz signal, delayed by both filters', () => {
    const input = sine(800, 440, 8000, AMPLITUDE);
    const up = new Upsampler8to16();
    const down = new Downsampler16to8();
    const wide = new Int16Array(1600);
    const back = new Int16Array(800);
    up.process(input, 800, wide);
    down.process(wide, 1600, back);
    const delay = up.delaySamples / 2 + down.delaySamples;
    let maxErr = 0;
    for (let n = 100; n < 800; n++) maxErr = Math.max(maxErr, Math.abs(back[n]! - input[n - delay]!));
    expect(maxErr).toBeLessThanOrEqual(3);
  });

  it('reset() forgets the previous stream', () => {
    const down = new Downsampler16to8();
    const dst = new Int16Array(160);
    down.process(sine(320, 3000, 16000, 20000), 320, dst);
    down.reset();
    const tone = sine(320, 700, 16000, 9000);
    down.process(tone, 320, dst);
    const fresh = new Int16Array(160);
    new Downsampler16to8().process(tone, 320, fresh);
    expect(Array.from(dst)).toEqual(Array.from(fresh));
  });

  it('RangeError on an odd count, a short destination or a count beyond the source', () => {
    const down = new Downsampler16to8();
    expect(() => down.process(new Int16Array(320), 319, new Int16Array(160))).toThrow(RangeError);
    expect(() => down.process(new Int16Array(320), 320, new Int16Array(159))).toThrow(RangeError);
    expect(() => down.process(new Int16Array(320), 322, new Int16Array(200))).toThrow(RangeError);
    expect(down.process(new Int16Array(320), 320, new Int16Array(160))).toBe(160);
  });
});
