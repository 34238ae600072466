import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../../tools/media-load/histogram.js';

/** Nearest-rank percentile over a sorted copy: the reference the histogram must bracket. */
function referencePercentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

const WIDTH = 0.5;
const BUCKETS = 400; // 0..200

describe('Histogram', () => {
  it('brackets every percentile within one bucket of the sorted-array reference', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 199.99, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 500 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (values, p) => {
          const h = new Histogram(WIDTH, BUCKETS);
          for (const v of values) h.record(v);
          const ref = referencePercentile(values, p);
          const got = h.percentile(p);
          expect(got).toBeGreaterThanOrEqual(ref);
          expect(got - ref).toBeLessThanOrEqual(WIDTH + 1e-9);
          expect(h.count).toBe(values.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers with the exact maximum when the rank lies in the overflow bucket', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 200, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), (values) => {
        const h = new Histogram(WIDTH, BUCKETS);
        for (const v of values) h.record(v);
        expect(h.overflow).toBe(values.length);
        expect(h.percentile(100)).toBe(Math.max(...values));
        expect(h.percentile(50)).toBe(Math.max(...values));
      }),
    );
  });

  it('merging equals recording everything in one, and snapshots round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 300, noNaN: true }), { maxLength: 200 }),
        fc.array(fc.double({ min: 0, max: 300, noNaN: true }), { maxLength: 200 }),
        (a, b) => {
          const ha = new Histogram(WIDTH, BUCKETS);
          const hb = new Histogram(WIDTH, BUCKETS);
          const all = new Histogram(WIDTH, BUCKETS);
          for (const v of a) {
            ha.record(v);
            all.record(v);
          }
          for (const v of b) {
            hb.record(v);
            all.record(v);
          }
          const merged = Histogram.fromSnapshot(ha.snapshot());
          merged.merge(hb.snapshot());
          const { sum: mergedSum, ...mergedRest } = merged.snapshot();
          const { sum: allSum, ...allRest } = all.snapshot();
          expect(mergedRest).toEqual(allRest);
          // Float addition order differs between the two: equal up to rounding.
          expect(Math.abs(mergedSum - allSum)).toBeLessThanOrEqual(1e-9 * Math.max(1, allSum));
          for (const p of [1, 50, 99, 100]) expect(Object.is(merged.percentile(p), all.percentile(p))).toBe(true);
        },
      ),
    );
  });

  it('tracks min, max and mean exactly and counts negatives as zero', () => {
    const h = new Histogram(1, 10);
    for (const v of [3, -2, 7.5]) h.record(v);
    expect(h.min).toBe(0);
    expect(h.max).toBe(7.5);
    expect(h.mean).toBeCloseTo((3 + 0 + 7.5) / 3, 12);
  });

  it('is NaN when empty and rejects bad arguments', () => {
    const h = new Histogram(1, 10);
    expect(h.percentile(50)).toBeNaN();
    expect(() => h.percentile(101)).toThrow(RangeError);
    expect(() => new Histogram(0, 10)).toThrow(RangeError);
    expect(() => new Histogram(1, 0)).toThrow(RangeError);
    expect(() => h.merge(new Histogram(2, 10))).toThrow(RangeError);
  });
});
