import { describe, expect, it } from 'vitest';
import {
  CODEC_NAMES,
  codecForPayloadType,
  getCodec,
  isCodecName,
  type CodecName,
} from '../../../engine/src/codec/index.js';
import { sine } from './signal.js';

describe('codec registry', () => {
  it('lists the four codecs', () => {
    expect([...CODEC_NAMES]).toEqual(['ulaw', 'alaw', 'slin', 'slin16']);
    expect(Object.isFrozen(CODEC_NAMES)).toBe(true);
  });

  it.each([
    ['ulaw', 0, 8000, 160, 160],
    ['alaw', 8, 8000, 160, 160],
    ['slin', 10, 8000, 160, 320],
    ['slin16', 118, 16000, 320, 640],
  ] as const)('%s: PT %i, %i Hz, %i samples / %i bytes per 20 ms', (name, pt, rate, samples, bytes) => {
    const codec = getCodec(name);
    expect(codec.name).toBe(name);
    expect(codec.payloadType).toBe(pt);
    expect(codec.sampleRate).toBe(rate);
    expect(codec.frameSamples).toBe(samples);
    expect(codec.frameBytes).toBe(bytes);
    expect(codecForPayloadType(pt)).toBe(codec);
    expect(Object.isFrozen(codec)).toBe(true);
  });

  it('maps PT 11 (Asterisk\'s other static slin entry) to slin, and nothing else', () => {
    expect(codecForPayloadType(11)).toBe(getCodec('slin'));
    for (const pt of [-1, 1, 9, 13, 96, 101, 107, 119, 127, 128, 0.5, Number.NaN]) {
      expect(codecForPayloadType(pt)).toBeUndefined();
    }
  });

  it('throws TypeError for an unknown name', () => {
    expect(() => getCodec('opus' as CodecName)).toThrow(TypeError);
    expect(() => getCodec('' as CodecName)).toThrow(TypeError);
    expect(isCodecName('slin16')).toBe(true);
    expect(isCodecName('SLIN16')).toBe(false);
    expect(isCodecName(118)).toBe(false);
  });

  it.each(CODEC_NAMES.map((n) => [n]))('%s: a 20 ms frame encodes to frameBytes and decodes back to frameSamples', (name) => {
    const codec = getCodec(name);
    const pcm = sine(codec.frameSamples, 440, codec.sampleRate, 12000);
    const wire = new Uint8Array(12 + codec.frameBytes); // room for an RTP header in front
    expect(codec.encode(pcm, pcm.length, wire, 12)).toBe(codec.frameBytes);
    const back = new Int16Array(codec.frameSamples);
    expect(codec.decode(wire, 12, codec.frameBytes, back)).toBe(codec.frameSamples);
    const exact = name === 'slin' || name === 'slin16';
    for (let i = 0; i < pcm.length; i++) {
      if (exact) expect(back[i]).toBe(pcm[i]);
      else expect(Math.abs(back[i]! - pcm[i]!)).toBeLessThanOrEqual(Math.abs(pcm[i]!) / 16 + 16);
    }
  });
});
