/** Small measurement helpers for the codec tests (not a test file itself). */

export function sine(count: number, freq: number, rate: number, amplitude: number, phase = 0): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate + phase));
  }
  return out;
}

/**
 * Amplitude of the `freq` component of x[start..start+length), by a single DFT
 * bin. Exact (no leakage) when the window holds a whole number of cycles.
 */
export function toneAmplitude(x: ArrayLike<number>, start: number, length: number, freq: number, rate: number): number {
  let re = 0;
  let im = 0;
  const w = (2 * Math.PI * freq) / rate;
  for (let i = 0; i < length; i++) {
    const v = x[start + i]!;
    re += v * Math.cos(w * i);
    im -= v * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / length;
}

export function rms(x: ArrayLike<number>, start = 0, length = x.length - start): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += x[start + i]! * x[start + i]!;
  return Math.sqrt(sum / length);
}

/**
 * Frequency from zero crossings, with the crossing instants linearly
 * interpolated between samples, measured from the first crossing to the last.
 */
export function zeroCrossingFrequency(x: ArrayLike<number>, rate: number): number {
  let first = -1;
  let last = -1;
  let crossings = 0;
  for (let i = 1; i < x.length; i++) {
    const a = x[i - 1]!;
    const b = x[i]!;
    if ((a < 0) !== (b < 0)) {
      const t = i - 1 + a / (a - b);
      if (first < 0) first = t;
      last = t;
      crossings++;
    }
  }
  if (crossings < 2) return 0;
  return ((crossings - 1) / 2) * (rate / (last - first));
}

export function db(ratio: number): number {
  return 20 * Math.log10(ratio);
}
