import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUlaw, encodeUlaw } from '../../../engine/src/codec/index.js';
import { FRAME_TAG_BYTES, readFrameTag, writeFrameTag } from '../../../engine/src/loadtest/frame-tag.js';

/** What the engine does to a payload on the identity path: µ-law decode, then encode. */
function throughCodec(payload: Uint8Array, gain = 1): Uint8Array {
  const pcm = new Int16Array(payload.length);
  decodeUlaw(payload, 0, payload.length, pcm);
  if (gain !== 1) for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round((pcm[i] as number) * gain);
  const out = new Uint8Array(payload.length);
  encodeUlaw(pcm, pcm.length, out, 0);
  return out;
}

describe('frame tag', () => {
  it('survives µ-law decode→encode for every counter and stream', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xff_ffff }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.uint8Array({ minLength: 160, maxLength: 160 }),
        (counter, stream, audio) => {
          const payload = Uint8Array.from(audio);
          writeFrameTag(payload, 0, counter, stream);
          expect(readFrameTag(payload, 0, stream)).toBe(counter);
          expect(readFrameTag(throughCodec(payload), 0, stream)).toBe(counter);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps only the low 24 bits of the counter', () => {
    const buf = new Uint8Array(FRAME_TAG_BYTES);
    writeFrameTag(buf, 0, 0x1_00_00_05, 3);
    expect(readFrameTag(buf, 0, 3)).toBe(5);
  });

  it('rejects another stream, silence, faded copies and random audio (all but a check collision)', () => {
    let wrongStream = 0;
    let faded = 0;
    let random = 0;
    const n = 4000;
    for (let c = 0; c < n; c++) {
      const payload = new Uint8Array(160).fill(0xff);
      writeFrameTag(payload, 0, c * 977, 42);
      if (readFrameTag(payload, 0, 43) >= 0) wrongStream++;
      // Concealment repeats the last frame with fading gain.
      if (readFrameTag(throughCodec(payload, 0.5), 0, 42) >= 0) faded++;
      const noise = Uint8Array.from({ length: 160 }, () => (Math.random() * 256) | 0);
      if (readFrameTag(noise, 0, 42) >= 0) random++;
    }
    // A 12-bit check: about n/4096 false accepts at most for the first two.
    expect(wrongStream).toBeLessThan(n * 0.01);
    expect(faded).toBeLessThan(n * 0.01);
    expect(random).toBeLessThan(n * 0.01);
    expect(readFrameTag(new Uint8Array(160).fill(0xff), 0, 42)).toBe(-1);
  });

  it('refuses short buffers', () => {
    expect(() => writeFrameTag(new Uint8Array(5), 0, 1, 1)).toThrow(RangeError);
    expect(() => writeFrameTag(new Uint8Array(10), 5, 1, 1)).toThrow(RangeError);
    expect(readFrameTag(new Uint8Array(5), 0, 1)).toBe(-1);
  });
});
