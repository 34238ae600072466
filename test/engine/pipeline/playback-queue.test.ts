import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnergyUtteranceDetector, PlaybackQueue, type Utterance } from '../../../engine/src/pipeline/streaming/index.js';

function le(samples: number[]): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => b.writeInt16LE(s, 2 * i));
  return b;
}

describe('PlaybackQueue', () => {
  it('plays samples back in order, little-endian decoded with sign', () => {
    const q = new PlaybackQueue(8);
    expect(q.pushS16LE(le([1, -2, 32767, -32768]), 0, 8)).toBe(4);
    const out = new Int16Array(6);
    expect(q.read(out, 0, 6)).toBe(4);
    expect([...out.subarray(0, 4)]).toEqual([1, -2, 32767, -32768]);
    expect(q.length).toBe(0);
  });

  it('drops the oldest samples on overflow and counts them', () => {
    const q = new PlaybackQueue(4);
    q.pushS16LE(le([1, 2, 3]), 0, 6);
    q.pushS16LE(le([4, 5, 6]), 0, 6);
    expect(q.droppedOverflow).toBe(2);
    const out = new Int16Array(4);
    expect(q.read(out, 0, 4)).toBe(4);
    expect([...out]).toEqual([3, 4, 5, 6]);
    q.pushS16LE(le([7, 8, 9, 10, 11, 12]), 0, 12);
    expect(q.droppedOverflow).toBe(4);
    q.read(out, 0, 4);
    expect([...out]).toEqual([9, 10, 11, 12]);
  });

  it('reaches a mark only when the audio queued before it has been read', () => {
    const q = new PlaybackQueue(100);
    q.pushS16LE(le([1, 1, 1, 1]), 0, 8);
    q.addMark('m1');
    q.pushS16LE(le([2, 2]), 0, 4);
    q.addMark('m2');
    const out = new Int16Array(4);
    q.read(out, 0, 3);
    expect(q.takeReachedMark()).toBeUndefined();
    q.read(out, 0, 1);
    expect(q.takeReachedMark()).toBe('m1');
    expect(q.takeReachedMark()).toBeUndefined();
    q.read(out, 0, 4);
    expect(q.takeReachedMark()).toBe('m2');
  });

  it('clear() drops audio, counts it and makes pending marks reached', () => {
    const q = new PlaybackQueue(100);
    q.pushS16LE(le([5, 5, 5]), 0, 6);
    q.addMark('m');
    expect(q.clear()).toBe(3);
    expect(q.droppedCleared).toBe(3);
    expect(q.length).toBe(0);
    expect(q.takeReachedMark()).toBe('m');
  });

  it('rejects odd byte counts', () => {
    expect(() => new PlaybackQueue(4).pushS16LE(Buffer.alloc(3), 0, 3)).toThrow(RangeError);
  });

  it('never holds more than its capacity and keeps the newest samples (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 80 }), { maxLength: 20 }), (cap, pushes) => {
        const q = new PlaybackQueue(cap);
        const all: number[] = [];
        for (const p of pushes) {
          q.pushS16LE(le(p), 0, p.length * 2);
          all.push(...p);
          expect(q.length).toBeLessThanOrEqual(cap);
        }
        const out = new Int16Array(cap);
        const n = q.read(out, 0, cap);
        expect([...out.subarray(0, n)]).toEqual(all.slice(all.length - n));
        expect(q.droppedOverflow + n).toBe(all.length);
      }),
    );
  });
});

describe('EnergyUtteranceDetector', () => {
  it('finds a tone burst with its start and end, after the hangover', () => {
    const rate = 8000;
    const pcm = new Int16Array(rate * 2); // 0.5 s silence, 0.8 s tone, 0.7 s silence
    for (let i = rate / 2; i < rate / 2 + 0.8 * rate; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    const found: Utterance[] = [];
    const d = new EnergyUtteranceDetector({ sampleRate: rate, hangoverMs: 300 });
    // Fed in odd-sized pieces: frames must not depend on how the bytes arrive.
    for (let p = 0; p < pcm.length; p += 77) d.push(pcm.subarray(p, Math.min(pcm.length, p + 77)), Math.min(77, pcm.length - p), (u) => found.push(u));
    expect(found).toEqual([{ startMs: 500, endMs: 1300 }]);
    expect(d.inSpeech).toBe(false);
  });

  it('finish() ends an utterance still in progress; silence finds nothing', () => {
    const found: Utterance[] = [];
    const d = new EnergyUtteranceDetector({ sampleRate: 8000 });
    d.push(new Int16Array(8000), 8000, (u) => found.push(u));
    expect(found).toHaveLength(0);
    d.push(new Int16Array(1600).fill(3000), 1600, (u) => found.push(u));
    d.finish((u) => found.push(u));
    expect(found).toEqual([{ startMs: 1000, endMs: 1200 }]);
  });
});
