import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeL16, decodeL16LE, encodeL16, encodeL16LE, getCodec } from '../../../engine/src/codec/index.js';
import { rms, zeroCrossingFrequency } from './signal.js';

const PAYLOADS_FILE = fileURLToPath(new URL('../../data/codec/slin16_s5_first26_payloads_hex.txt', import.meta.url));

function loadPayloads(): Buffer[] {
  return readFileSync(PAYLOADS_FILE, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => Buffer.from(line, 'hex'));
}

/** Decodes payloads[from..] back to back, through decodeL16, into one signal. */
function decodeAll(payloads: readonly Uint8Array[], from: number): Int16Array {
  const frames = payloads.slice(from);
  const out = new Int16Array(frames.reduce((n, p) => n + p.length / 2, 0));
  const frame = new Int16Array(320);
  let at = 0;
  for (const p of frames) {
    const n = decodeL16(p, 0, p.length, frame);
    out.set(frame.subarray(0, n), at);
    at += n;
  }
  return out;
}

function byteSwapped(p: Uint8Array): Uint8Array {
  const out = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i += 2) {
    out[i] = p[i + 1]!;
    out[i + 1] = p[i]!;
  }
  return out;
}

describe('L16 (network byte order)', () => {
  it('puts the most significant byte first', () => {
    const dst = new Uint8Array(8);
    expect(encodeL16(Int16Array.of(0x1234, -2, -32768, 32767), 4, dst, 0)).toBe(8);
    expect(Array.from(dst)).toEqual([0x12, 0x34, 0xff, 0xfe, 0x80, 0x00, 0x7f, 0xff]);
    const back = new Int16Array(4);
    expect(decodeL16(dst, 0, 8, back)).toBe(4);
    expect(Array.from(back)).toEqual([0x1234, -2, -32768, 32767]);
  });

  it('round-trips any samples at any offset without touching bytes around them', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 700 }), fc.nat(40), (values, offset) => {
        const pcm = Int16Array.from(values);
        const wire = new Uint8Array(offset + pcm.length * 2 + 5).fill(0x5a);
        expect(encodeL16(pcm, pcm.length, wire, offset)).toBe(pcm.length * 2);
        for (let i = 0; i < offset; i++) expect(wire[i]).toBe(0x5a);
        for (let i = offset + pcm.length * 2; i < wire.length; i++) expect(wire[i]).toBe(0x5a);
        const back = new Int16Array(pcm.length);
        expect(decodeL16(wire, offset, pcm.length * 2, back)).toBe(pcm.length);
        expect(Array.from(back)).toEqual(values);
      }),
      { numRuns: 200 },
    );
  });

  it('recovers the 440 Hz tone Asterisk sent as slin16, and only when read big-endian', () => {
    const payloads = loadPayloads();
    expect(payloads.length).toBe(26);
    for (const p of payloads) expect(p.length).toBe(640);
    // The first payload holds the tone's onset; the steady tone starts with the second.
    const be = decodeAll(payloads, 1);
    expect(be.length).toBe(25 * 320);
    expect(zeroCrossingFrequency(be, 16000)).toBeCloseTo(440, 0);
    expect(Math.abs(rms(be) - 5651) / 5651).toBeLessThan(0.005);
    // Same bytes read little-endian (swap then decode) are noise: far from 440 Hz and much louder.
    const le = decodeAll(payloads.map(byteSwapped), 1);
    expect(zeroCrossingFrequency(le, 16000)).toBeGreaterThan(2000);
    expect(rms(le)).toBeGreaterThan(2 * 5651);
  });

  it('matches the first samples recorded in the observed byte-order analysis', () => {
    const be = decodeAll(loadPayloads(), 0);
    // slin16_byte_order_analysis.json, big-endian first_16_samples (the tone repeats every 400 samples).
    const observed = [7655, 7901, 7951, 7801, 7401, 6743, 5901, 4951, 3883, 2644, 1260, -156, -1515, -2818, -4078, -5222];
    expect(Array.from(be.subarray(400, 416))).toEqual(observed);
    expect(Array.from(be.subarray(800, 816))).toEqual(observed);
  });

  it('RangeError on odd lengths and short buffers', () => {
    const wire = new Uint8Array(640);
    expect(() => decodeL16(wire, 0, 639, new Int16Array(320))).toThrow(RangeError);
    expect(() => decodeL16(wire, 0, 640, new Int16Array(319))).toThrow(RangeError);
    expect(() => decodeL16(wire, 2, 640, new Int16Array(320))).toThrow(RangeError);
    const pcm = new Int16Array(320);
    expect(() => encodeL16(pcm, 320, new Uint8Array(639), 0)).toThrow(RangeError);
    expect(() => encodeL16(pcm, 320, new Uint8Array(640), 1)).toThrow(RangeError);
    expect(() => encodeL16(pcm, 321, new Uint8Array(1000), 0)).toThrow(RangeError);
    expect(decodeL16(wire, 0, 640, new Int16Array(320))).toBe(320);
    expect(encodeL16(pcm, 320, new Uint8Array(640), 0)).toBe(640);
  });
});

describe('L16 little-endian (chan_websocket)', () => {
  it('puts the least significant byte first, and reads the observed big-endian tone back when the bytes are swapped', () => {
    const dst = new Uint8Array(8);
    expect(encodeL16LE(Int16Array.of(0x1234, -2, -32768, 32767), 4, dst, 0)).toBe(8);
    expect(Array.from(dst)).toEqual([0x34, 0x12, 0xfe, 0xff, 0x00, 0x80, 0xff, 0x7f]);
    // The s5 tone, byte-swapped, is what a little-endian wire carries: decodeL16LE must give the same samples.
    const payload = loadPayloads()[1]!;
    const be = new Int16Array(320);
    const le = new Int16Array(320);
    decodeL16(payload, 0, 640, be);
    decodeL16LE(byteSwapped(payload), 0, 640, le);
    expect(Array.from(le)).toEqual(Array.from(be));
  });

  it('round-trips any samples, and is what getCodec gives for the little-endian byte order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 400 }), (values) => {
        const pcm = Int16Array.from(values);
        const wire = new Uint8Array(pcm.length * 2);
        encodeL16LE(pcm, pcm.length, wire, 0);
        const back = new Int16Array(pcm.length);
        expect(decodeL16LE(wire, 0, wire.length, back)).toBe(pcm.length);
        expect(Array.from(back)).toEqual(values);
      }),
      { numRuns: 100 },
    );
    expect(getCodec('slin16', 'little').decode).toBe(decodeL16LE);
    expect(getCodec('slin16', 'little')).toMatchObject({ name: 'slin16', sampleRate: 16000, frameBytes: 640 });
    expect(getCodec('slin16').decode).toBe(decodeL16);
    expect(getCodec('ulaw', 'little')).toBe(getCodec('ulaw'));
    expect(() => decodeL16LE(new Uint8Array(3), 0, 3, new Int16Array(2))).toThrow(RangeError);
  });
});
