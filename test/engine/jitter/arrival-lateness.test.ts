import { describe, expect, it } from 'vitest';
import { ArrivalLateness } from '../../../engine/src/jitter/arrival-lateness.js';

describe('ArrivalLateness', () => {
  it('is 0 for packets on time, whatever the constant delay, across the timestamp wrap', () => {
    const lateness = new ArrivalLateness(8000);
    const ts0 = 2 ** 32 - 800;
    for (let i = 0; i < 20; i++) expect(lateness.update(1000 + 37 + i * 20, (ts0 + i * 160) >>> 0)).toBeCloseTo(0, 9);
  });

  it('reports how much later than its stream allows a packet was read (e.g. waiting in the kernel behind a stall)', () => {
    const lateness = new ArrivalLateness(8000);
    for (let i = 0; i < 10; i++) lateness.update(i * 20, i * 160);
    // Packets 10–14 sat in the kernel until a 70 ms stall ended at 290 ms; all were read then.
    const late = [10, 11, 12, 13, 14].map((i) => lateness.update(290, i * 160));
    // (The floor rose 0.11 ms over those 110 ms.)
    late.forEach((ms, k) => expect(ms).toBeCloseTo(90 - 20 * k, 0));
    expect(lateness.update(300, 15 * 160)).toBeCloseTo(0, 0);
  });

  it('a packet earlier than any before lowers the floor; the floor rises back only 1 ms per second', () => {
    const lateness = new ArrivalLateness(8000);
    lateness.update(20, 0);
    // The first packet was 10 ms late: the next ones set a lower floor and are on time.
    expect(lateness.update(30, 160)).toBeCloseTo(0, 9);
    expect(lateness.update(50, 320)).toBeCloseTo(0, 9);
    // One second later a packet 30 ms late reads 30 ms, less the 1 ms the floor rose meanwhile.
    expect(lateness.update(1010 + 30, 8000)).toBeCloseTo(30 - 0.99, 1);
  });

  it('restart() forgets the stream: a new one with unrelated timestamps starts at 0', () => {
    const lateness = new ArrivalLateness(8000);
    lateness.update(0, 0);
    lateness.update(20, 160);
    lateness.restart();
    expect(lateness.update(5000, 123_456)).toBe(0);
    expect(lateness.update(5020, 123_616)).toBeCloseTo(0, 9);
  });
});
