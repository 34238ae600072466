import { describe, expect, it } from 'vitest';
import { LevelMeter, SILENCE_DBFS } from '../../../engine/src/session/level-meter.js';
import { PcmRingReader, PcmRingWriter, createPcmRing } from '../../../engine/src/tap/pcm-ring.js';

describe('LevelMeter', () => {
  it('reads silence before any frame and for digital zero', () => {
    const meter = new LevelMeter();
    expect(meter.read()).toEqual({ rmsDbfs: SILENCE_DBFS, clippedSamples: 0, frames: 0 });
    meter.measure(new Int16Array(160), 160);
    expect(meter.read().rmsDbfs).toBe(SILENCE_DBFS);
  });

  it('measures a full-scale square wave at 0 dBFS with every sample clipped, and follows a level drop', () => {
    const meter = new LevelMeter();
    const square = Int16Array.from({ length: 160 }, (_, i) => (i % 2 === 0 ? 32767 : -32768));
    meter.measure(square, 160);
    expect(meter.read().rmsDbfs).toBeCloseTo(0, 0);
    expect(meter.read().clippedSamples).toBe(160);
    // A −20 dBFS square afterwards: the ≈ 300 ms average reaches it within a second of frames.
    const quiet = Int16Array.from({ length: 160 }, (_, i) => (i % 2 === 0 ? 3277 : -3277));
    for (let f = 0; f < 100; f++) meter.measure(quiet, 160);
    expect(meter.read().rmsDbfs).toBeCloseTo(-20, 0);
    expect(meter.read().clippedSamples).toBe(160);
    expect(meter.read().frames).toBe(101);
  });
});

describe('PcmRing', () => {
  it('hands frames over in order and drops (counting) when the reader is a whole ring behind', () => {
    const layout = createPcmRing(16000, 4, 3);
    const writer = new PcmRingWriter(layout);
    const reader = new PcmRingReader(layout);
    for (let i = 1; i <= 5; i++) writer.write(Int16Array.from([i, i, i, i]));
    expect(writer.dropped).toBe(2);
    const got: number[] = [];
    expect(reader.drain((pcm) => got.push(pcm[0]!))).toBe(3);
    expect(got).toEqual([1, 2, 3]);
    expect(writer.write(Int16Array.from([6, 6, 6, 6]))).toBe(true);
    reader.drain((pcm) => got.push(pcm[0]!));
    expect(got).toEqual([1, 2, 3, 6]);
    reader.close();
    expect(writer.write(Int16Array.from([7, 7, 7, 7]))).toBe(false);
    expect(writer.closed).toBe(true);
  });

  it('refuses a ring too small to be a ring', () => {
    expect(() => createPcmRing(16000, 320, 1)).toThrow(RangeError);
  });
});
