import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SequenceUnwrapper,
  TimestampUnwrapper,
  seqAdd,
  seqDiff,
  seqIsNewer,
  tsAdd,
  tsDiff,
  tsIsNewer,
} from '../../../engine/src/rtp/index.js';

const U32_MAX = 0xffff_ffff;
const uint16 = fc.integer({ min: 0, max: 0xffff });
const uint32 = fc.integer({ min: 0, max: U32_MAX });

describe('16-bit sequence arithmetic', () => {
  it.each([
    [65535, 1, 0],
    [65535, 2, 1],
    [0, -1, 65535],
    [1, -2, 65535],
    [100, 65536, 100],
    [100, -65536 * 3, 100],
    [40000, 30000, 4464],
    [0, 0, 0],
  ])('seqAdd(%i, %i) = %i', (seq, n, expected) => {
    expect(seqAdd(seq, n)).toBe(expected);
  });

  it.each([
    [65535, 0, 1],
    [0, 65535, -1],
    [65530, 5, 11],
    [5, 65530, -11],
    [0, 32767, 32767],
    [0, 32768, -32768],
    [32768, 0, -32768],
    [10, 10, 0],
  ])('seqDiff(%i, %i) = %i', (from, to, expected) => {
    expect(seqDiff(from, to)).toBe(expected);
  });

  it.each([
    [0, 65535, true],
    [65535, 0, false],
    [1, 0, true],
    [0, 1, false],
    [7, 7, false],
    [32767, 0, true],
    [32768, 0, false], // exactly half the circle: neither is newer (RFC 1982 leaves it undefined)
    [0, 32768, false],
  ])('seqIsNewer(%i, %i) = %s', (a, b, expected) => {
    expect(seqIsNewer(a, b)).toBe(expected);
  });

  it('seqAdd and seqDiff are inverse', () => {
    fc.assert(
      fc.property(uint16, fc.integer({ min: -32768, max: 32767 }), (seq, n) => {
        const moved = seqAdd(seq, n);
        expect(moved).toBeGreaterThanOrEqual(0);
        expect(moved).toBeLessThanOrEqual(0xffff);
        expect(seqDiff(seq, moved)).toBe(n);
      }),
    );
    fc.assert(fc.property(uint16, uint16, (a, b) => {
        expect(seqAdd(a, seqDiff(a, b))).toBe(b);
      }),
    );
  });

  it('seqIsNewer is antisymmetric and agrees with seqDiff', () => {
    fc.assert(
      fc.property(uint16, uint16, (a, b) => {
        expect(seqIsNewer(a, b) && seqIsNewer(b, a)).toBe(false);
        expect(seqIsNewer(a, b)).toBe(seqDiff(b, a) > 0);
        if (a !== b && seqDiff(a, b) !== -32768) expect(seqIsNewer(a, b) || seqIsNewer(b, a)).toBe(true);
      }),
    );
  });
});

describe('32-bit timestamp arithmetic', () => {
  it.each([
    [U32_MAX, 1, 0],
    [U32_MAX, 160, 159],
    [0, -1, U32_MAX],
    [100, -160, U32_MAX - 59],
    [0x8000_0000, 0x8000_0000, 0],
    [5, 0, 5],
  ])('tsAdd(%i, %i) = %i', (ts, n, expected) => {
    expect(tsAdd(ts, n)).toBe(expected);
  });

  it.each([
    [U32_MAX, 0, 1],
    [0, U32_MAX, -1],
    [U32_MAX - 159, 0, 160],
    [0, U32_MAX - 159, -160],
    [0, 0x7fff_ffff, 0x7fff_ffff],
    [0, 0x8000_0000, -0x8000_0000],
    [123, 123, 0],
  ])('tsDiff(%i, %i) = %i', (from, to, expected) => {
    expect(tsDiff(from, to)).toBe(expected);
  });

  it.each([
    [0, U32_MAX, true],
    [U32_MAX, 0, false],
    [160, 0, true],
    [0, 0x8000_0000, false],
    [0x8000_0000, 0, false],
    [9, 9, false],
  ])('tsIsNewer(%i, %i) = %s', (a, b, expected) => {
    expect(tsIsNewer(a, b)).toBe(expected);
  });

  it('tsAdd and tsDiff are inverse', () => {
    fc.assert(
      fc.property(uint32, fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), (ts, n) => {
        const moved = tsAdd(ts, n);
        expect(moved).toBeGreaterThanOrEqual(0);
        expect(moved).toBeLessThanOrEqual(U32_MAX);
        expect(tsDiff(ts, moved)).toBe(n);
      }),
    );
    fc.assert(fc.property(uint32, uint32, (a, b) => {
        expect(tsAdd(a, tsDiff(a, b))).toBe(b);
      }),
    );
  });

  it('tsIsNewer is antisymmetric and agrees with tsDiff', () => {
    fc.assert(
      fc.property(uint32, uint32, (a, b) => {
        expect(tsIsNewer(a, b) && tsIsNewer(b, a)).toBe(false);
        expect(tsIsNewer(a, b)).toBe(tsDiff(b, a) > 0);
      }),
    );
  });
});

describe('SequenceUnwrapper', () => {
  it('crosses 65535 → 0 forwards and back', () => {
    const u = new SequenceUnwrapper();
    expect([65534, 65535, 0, 1, 65535, 0, 2].map((s) => u.unwrap(s))).toEqual([65534, 65535, 65536, 65537, 65535, 65536, 65538]);
  });

  it('a late packet from before the first unwraps below it (negative), not a cycle ahead', () => {
    const u = new SequenceUnwrapper();
    expect([0, 65535, 1].map((s) => u.unwrap(s))).toEqual([0, -1, 1]);
  });

  it('keeps counting over many cycles and starts again after reset', () => {
    const u = new SequenceUnwrapper();
    let last = u.unwrap(60000);
    for (let i = 1; i <= 10 * 65536; i += 1000) last = u.unwrap(seqAdd(60000, i));
    expect(last).toBe(60000 + 1 + 1000 * Math.floor((10 * 65536 - 1) / 1000));
    u.reset();
    expect(u.unwrap(3)).toBe(3);
  });

  it('property: unwrapping a stream of small steps recovers the true extended sequence', () => {
    fc.assert(
      fc.property(uint16, fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300 }), (start, steps) => {
        const u = new SequenceUnwrapper();
        let truth = start;
        expect(u.unwrap(start)).toBe(truth);
        for (const step of steps) {
          truth += step;
          expect(u.unwrap(truth & 0xffff)).toBe(truth);
        }
      }),
    );
  });
});

describe('TimestampUnwrapper', () => {
  it('crosses 2^32−1 → 0 forwards and back', () => {
    const u = new TimestampUnwrapper();
    expect([U32_MAX - 159, 0x9f, U32_MAX - 159, 0x13f].map((t) => u.unwrap(t))).toEqual([
      U32_MAX - 159,
      U32_MAX + 160,
      U32_MAX - 159,
      U32_MAX + 320,
    ]);
    u.reset();
    expect(u.unwrap(7)).toBe(7);
  });

  it('property: recovers the true extended timestamp across several wraps', () => {
    fc.assert(
      fc.property(uint32, fc.array(fc.integer({ min: -0x4000_0000, max: 0x4000_0000 }), { maxLength: 100 }), (start, steps) => {
        const u = new TimestampUnwrapper();
        let truth = start;
        expect(u.unwrap(start)).toBe(truth);
        for (const step of steps) {
          truth += step;
          expect(u.unwrap(truth >>> 0)).toBe(truth);
        }
      }),
    );
  });
});
