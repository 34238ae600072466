import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DelayWheel } from '../../../tools/media-load/delay-wheel.js';

describe('DelayWheel', () => {
  it('releases every entry exactly once, never early, at the first advance past its due time, in due order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        // Operations: push with a delay, or advance the clock by some ms.
        fc.array(fc.oneof(fc.record({ push: fc.double({ min: 0, max: 1, noNaN: true }) }), fc.record({ advance: fc.integer({ min: 0, max: 50 }) })), { maxLength: 300 }),
        (maxDelay, ops) => {
          const wheel = new DelayWheel(maxDelay, 1000, 0);
          let now = 0;
          let id = 0;
          let batch = 0;
          const due = new Map<number, number>();
          const released: Array<{ id: number; batch: number; at: number }> = [];
          const emit = (stream: number, buffer: number): void => {
            released.push({ id: stream * 1000 + buffer, batch, at: now });
          };
          for (const op of ops) {
            if ('push' in op) {
              const d = now + op.push * maxDelay;
              const key = id++;
              expect(wheel.push(d, Math.floor(key / 1000), key % 1000)).toBe(true);
              due.set(key, Math.floor(d));
            } else {
              now += op.advance;
              batch++;
              wheel.advance(now, emit);
              // Nothing due by now is still waiting.
              const out = new Set(released.map((r) => r.id));
              for (const [key, d] of due) if (d <= now) expect(out.has(key)).toBe(true);
            }
          }
          batch = Infinity;
          wheel.flush(emit);
          expect(wheel.size).toBe(0);
          const seen = new Set<number>();
          let last: { batch: number; due: number } = { batch: -1, due: -Infinity };
          for (const r of released) {
            expect(seen.has(r.id)).toBe(false);
            seen.add(r.id);
            const d = due.get(r.id) as number;
            // Never early: released by an advance only once due.
            if (r.batch !== Infinity) expect(d).toBeLessThanOrEqual(r.at);
            // Oldest millisecond first within one advance (or the final flush).
            if (r.batch === last.batch) expect(d).toBeGreaterThanOrEqual(last.due);
            last = { batch: r.batch, due: d };
          }
          expect(seen.size).toBe(due.size);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never holds an entry past an advance that reached its due time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 100 }), fc.integer({ min: 1, max: 10 }), (delays, step) => {
        const wheel = new DelayWheel(63, 200, 0);
        delays.forEach((d, i) => wheel.push(d, i, 0));
        const releasedAt = new Map<number, number>();
        for (let now = 0; now <= 70; now += step) wheel.advance(now, (stream) => releasedAt.set(stream, now));
        delays.forEach((d, i) => {
          const at = releasedAt.get(i) as number;
          expect(at).toBeGreaterThanOrEqual(d);
          expect(at - d).toBeLessThan(step);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses beyond its capacity and its reach, keeps FIFO order within a millisecond, and frees entries for reuse', () => {
    const wheel = new DelayWheel(10, 3, 100);
    expect(wheel.slots).toBeGreaterThanOrEqual(12);
    expect(wheel.push(105.2, 1, 0)).toBe(true);
    expect(wheel.push(105.9, 2, 0)).toBe(true);
    expect(wheel.push(50, 3, 0)).toBe(true); // already due: next advance
    expect(wheel.push(106, 4, 0)).toBe(false); // full
    const out: number[] = [];
    wheel.advance(104, (s) => out.push(s));
    expect(out).toEqual([3]);
    wheel.advance(105, (s) => out.push(s));
    expect(out).toEqual([3, 1, 2]);
    expect(wheel.push(105 + wheel.slots + 5, 9, 0)).toBe(false); // beyond reach
    expect(wheel.push(110, 5, 0)).toBe(true);
    expect(wheel.size).toBe(1);
    // A long idle gap: the cursor jumps, nothing is lost.
    wheel.advance(10_000, (s) => out.push(s));
    expect(out).toEqual([3, 1, 2, 5]);
    expect(wheel.cursor).toBe(10_000);
    expect(() => new DelayWheel(-1, 1)).toThrow(RangeError);
    expect(() => new DelayWheel(10, 0)).toThrow(RangeError);
  });
});
