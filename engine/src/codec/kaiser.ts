/** Kaiser-window arithmetic shared by the FIR designs (halfband.ts, resample-24k.ts). */

/** Modified Bessel function of the first kind, order 0 (series; converges fast for β ≤ 20). */
export function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x / 2) * (x / 2);
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}
