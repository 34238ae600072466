import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alawToLinear, decodeAlaw, decodeL16, decodeUlaw, encodeAlaw, encodeL16, encodeUlaw, ulawToLinear } from '../../../engine/src/codec/index.js';
import {
  FRAME_TAG_BYTES,
  FRAME_TAG_L16_BYTES,
  readFrameTag,
  readFrameTagL16,
  writeFrameTag,
  writeFrameTagL16,
} from '../../../tools/media-load/frame-tag.js';
import { audioForCodec, isLoadCodecName, LOAD_CODECS, loadCodecFormat } from '../../../tools/media-load/load-codec.js';
import { toneSweep } from '../../../tools/media-load/speech.js';

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

describe('frame tag through every load codec', () => {
  it('A-law decode→encode is the identity on every code, so the G.711 tag survives A-law', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const pcm = new Int16Array(256);
    decodeAlaw(all, 0, 256, pcm);
    const back = new Uint8Array(256);
    encodeAlaw(pcm, 256, back, 0);
    expect(Array.from(back)).toEqual(Array.from(all));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xff_ffff }), fc.integer({ min: 0, max: 100_000 }), (counter, stream) => {
        const payload = audioForCodec(toneSweep(0.02), 'alaw');
        writeFrameTag(payload, 0, counter, stream);
        const pcmFrame = new Int16Array(160);
        decodeAlaw(payload, 0, 160, pcmFrame);
        const out = new Uint8Array(160);
        encodeAlaw(pcmFrame, 160, out, 0);
        expect(readFrameTag(out, 0, stream)).toBe(counter);
      }),
      { numRuns: 500 },
    );
  });

  it('the L16 tag survives slin16 decode→encode, and rejects other streams and G.711 tags', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xff_ffff }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.uint8Array({ minLength: 640, maxLength: 640 }),
        (counter, stream, audio) => {
          const payload = Uint8Array.from(audio);
          writeFrameTagL16(payload, 0, counter, stream);
          const pcm = new Int16Array(320);
          decodeL16(payload, 0, 640, pcm);
          // Six quiet samples: the tag is inaudible under speech.
          for (let i = 0; i < 6; i++) expect(pcm[i]).toBeGreaterThanOrEqual(192);
          for (let i = 0; i < 6; i++) expect(pcm[i]).toBeLessThanOrEqual(255);
          const out = new Uint8Array(640);
          encodeL16(pcm, 320, out, 0);
          expect(readFrameTagL16(out, 0, stream)).toBe(counter);
        },
      ),
      { numRuns: 1000 },
    );
    const buf = new Uint8Array(FRAME_TAG_L16_BYTES);
    writeFrameTagL16(buf, 0, 77, 5);
    expect(readFrameTagL16(buf, 0, 5)).toBe(77);
    let wrong = 0;
    for (let c = 0; c < 2000; c++) {
      writeFrameTagL16(buf, 0, c, 5);
      if (readFrameTagL16(buf, 0, 6) >= 0) wrong++;
    }
    expect(wrong).toBeLessThan(20);
    const g711 = new Uint8Array(FRAME_TAG_L16_BYTES);
    writeFrameTag(g711, 0, 77, 5);
    expect(readFrameTagL16(g711, 0, 5)).toBe(-1);
    expect(() => writeFrameTagL16(new Uint8Array(11), 0, 1, 1)).toThrow(RangeError);
    expect(readFrameTagL16(new Uint8Array(11), 0, 1)).toBe(-1);
  });
});

describe('audioForCodec', () => {
  it('converts µ-law frames to A-law and to 16 kHz big-endian slin16, whole frames', () => {
    const ulaw = toneSweep(0.2); // 10 frames
    for (const codec of LOAD_CODECS) {
      const f = loadCodecFormat(codec);
      const out = audioForCodec(ulaw, codec);
      expect(out.length).toBe(10 * f.frameBytes);
    }
    expect(loadCodecFormat('slin16')).toMatchObject({ payloadType: 118, frameBytes: 640, samplesPerFrame: 320, wide: true });
    expect(loadCodecFormat('alaw')).toMatchObject({ payloadType: 8, frameBytes: 160, samplesPerFrame: 160 });
    // A-law carries the same signal: decoded samples match µ-law's within G.711's step size.
    const alaw = audioForCodec(ulaw, 'alaw');
    for (let i = 0; i < ulaw.length; i += 17) {
      const a = alawToLinear(alaw[i]!);
      const u = ulawToLinear(ulaw[i]!);
      expect(Math.abs(a - u)).toBeLessThanOrEqual(Math.max(64, Math.abs(u) / 8));
    }
    // slin16 is the upsampled sweep: loud, big-endian (the tone is at −12 dBFS, about 8192 peak).
    const slin = audioForCodec(ulaw, 'slin16');
    let peak = 0;
    for (let i = 0; i < slin.length; i += 2) peak = Math.max(peak, Math.abs(slin.readInt16BE(i)));
    expect(peak).toBeGreaterThan(6000);
    expect(peak).toBeLessThan(10000);
    expect(() => audioForCodec(new Uint8Array(100), 'ulaw')).toThrow(RangeError);
    expect(isLoadCodecName('slin16')).toBe(true);
    expect(isLoadCodecName('g729')).toBe(false);
  });
});
