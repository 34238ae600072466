import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alawToLinear,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  linearToAlaw,
  linearToUlaw,
  ulawToLinear,
} from '../../../engine/src/codec/index.js';

const SOX = '/usr/bin/sox';

/** Every int16 value, ascending from -32768. */
function allSamples(): Int16Array {
  const all = new Int16Array(65536);
  for (let i = 0; i < all.length; i++) all[i] = i - 32768;
  return all;
}

/** Raw little-endian s16 bytes, which is what `sox -e signed -b 16 -L` reads. */
function s16le(samples: Int16Array): Buffer {
  const buf = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) buf.writeInt16LE(samples[i]!, i * 2);
  return buf;
}

describe('G.711 against sox (the Sun/CCITT g711.c)', () => {
  let dir = '';

  beforeAll(() => {
    try {
      execFileSync(SOX, ['--version'], { stdio: 'pipe' });
    } catch {
      throw new Error(`sox is required for the G.711 bit-exactness tests but ${SOX} could not be run; install it (apt-get install sox)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'tandem-g711-'));
  });

  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** sox encode of raw s16; `-D` turns off the dither sox would otherwise add when reducing to 13/14 bits. */
  function soxEncode(samples: Int16Array, encoding: 'u-law' | 'a-law'): Buffer {
    const input = join(dir, `in-${encoding}.raw`);
    const output = join(dir, `out-${encoding}.raw`);
    writeFileSync(input, s16le(samples));
    execFileSync(SOX, ['-D', '-t', 'raw', '-r', '8000', '-e', 'signed', '-b', '16', '-c', '1', '-L', input, '-t', 'raw', '-e', encoding, output], { stdio: 'pipe' });
    return readFileSync(output);
  }

  function soxDecodeAllCodes(encoding: 'u-law' | 'a-law'): Int16Array {
    const input = join(dir, `codes-${encoding}.raw`);
    const output = join(dir, `decoded-${encoding}.raw`);
    writeFileSync(input, Uint8Array.from({ length: 256 }, (_, i) => i));
    execFileSync(SOX, ['-t', 'raw', '-r', '8000', '-e', encoding, '-c', '1', input, '-t', 'raw', '-e', 'signed', '-b', '16', '-L', output], { stdio: 'pipe' });
    const bytes = readFileSync(output);
    expect(bytes.length).toBe(512);
    return Int16Array.from({ length: 256 }, (_, i) => bytes.readInt16LE(i * 2));
  }

  const laws = [
    { name: 'u-law', encoding: 'u-law', shift: 2, encode: encodeUlaw, decode: decodeUlaw },
    { name: 'A-law', encoding: 'a-law', shift: 3, encode: encodeAlaw, decode: decodeAlaw },
  ] as const;

  for (const law of laws) {
    it(`${law.name}: all 256 codes decode exactly as sox decodes them`, () => {
      const expected = soxDecodeAllCodes(law.encoding);
      const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const ours = new Int16Array(256);
      expect(law.decode(codes, 0, 256, ours)).toBe(256);
      expect(Array.from(ours)).toEqual(Array.from(expected));
    });

    it(`${law.name}: every ${16 - law.shift}-bit input level encodes byte for byte as sox does`, () => {
      // g711.c works on 14-bit (µ) / 13-bit (A) samples. Inputs that are exact multiples of
      // 2^shift reach that core unchanged through sox's front end, so this covers every entry
      // of the encode table.
      const step = 1 << law.shift;
      const levels = new Int16Array(65536 / step);
      for (let i = 0; i < levels.length; i++) levels[i] = -32768 + i * step;
      const expected = soxEncode(levels, law.encoding);
      expect(expected.length).toBe(levels.length);
      const ours = new Uint8Array(levels.length);
      expect(law.encode(levels, levels.length, ours, 0)).toBe(levels.length);
      let mismatches = 0;
      for (let i = 0; i < levels.length; i++) if (ours[i] !== expected[i]) mismatches++;
      expect(mismatches).toBe(0);
    });

    it(`${law.name}: all 65536 int16 values through sox differ from us only by sox rounding (we truncate, as g711.c and Asterisk do)`, () => {
      const all = allSamples();
      const expected = soxEncode(all, law.encoding);
      expect(expected.length).toBe(65536);
      const ours = new Uint8Array(65536);
      law.encode(all, 65536, ours, 0);
      const half = 1 << (law.shift - 1);
      const maxLevel = (1 << (15 - law.shift)) - 1;
      let truncationMismatches = 0;
      let roundingMismatches = 0;
      const scratch = new Int16Array(1);
      const one = new Uint8Array(1);
      for (let i = 0; i < 65536; i++) {
        const s = all[i]!;
        // g711.c's linear2ulaw(pcm) begins with `pcm >> 2` (A-law: `>> 3`): our byte must be the core's byte for the truncated level.
        if (ours[i] !== ours[((s >> law.shift) << law.shift) + 32768]) truncationMismatches++;
        // sox instead rounds to nearest before calling the same core; feeding the rounded level to us reproduces sox exactly.
        scratch[0] = Math.min((s + half) >> law.shift, maxLevel) << law.shift;
        law.encode(scratch, 1, one, 0);
        if (one[0] !== expected[i]) roundingMismatches++;
      }
      expect(truncationMismatches).toBe(0);
      expect(roundingMismatches).toBe(0);
    });
  }
});

describe('G.711 reference values', () => {
  it('decodes the well-known end points', () => {
    expect(ulawToLinear(0x00)).toBe(-32124);
    expect(ulawToLinear(0x80)).toBe(32124);
    expect(ulawToLinear(0xff)).toBe(0);
    expect(ulawToLinear(0x7f)).toBe(0);
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0x55)).toBe(-8);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(alawToLinear(0x2a)).toBe(-32256);
  });

  it('encodes silence and full scale to the usual bytes', () => {
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToUlaw(32767)).toBe(0x80);
    expect(linearToUlaw(-32768)).toBe(0x00);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
  });

  it('scalar encoders clamp out-of-range input instead of wrapping', () => {
    expect(linearToUlaw(40000)).toBe(linearToUlaw(32767));
    expect(linearToUlaw(-40000)).toBe(linearToUlaw(-32768));
    expect(linearToAlaw(1e9)).toBe(linearToAlaw(32767));
    expect(linearToAlaw(-1e9)).toBe(linearToAlaw(-32768));
  });
});

describe('G.711 properties', () => {
  const laws = [
    { name: 'u-law', toLinear: ulawToLinear, fromLinear: linearToUlaw, encode: encodeUlaw, decode: decodeUlaw, unstable: [0x7f] as readonly number[] },
    { name: 'A-law', toLinear: alawToLinear, fromLinear: linearToAlaw, encode: encodeAlaw, decode: decodeAlaw, unstable: [] as readonly number[] },
  ] as const;

  for (const law of laws) {
    it(`${law.name}: encode(decode(code)) === code for every code but the documented -0`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 255 }), (code) => {
          fc.pre(!law.unstable.includes(code));
          expect(law.fromLinear(law.toLinear(code))).toBe(code);
        }),
        { numRuns: 2000 },
      );
      // And exhaustively, so the exception list is exactly what is documented.
      const unstable: number[] = [];
      for (let code = 0; code < 256; code++) if (law.fromLinear(law.toLinear(code)) !== code) unstable.push(code);
      expect(unstable).toEqual(law.unstable);
    });

    it(`${law.name}: encoding is stable (re-encoding a decoded sample gives the same byte) and close to the input`, () => {
      fc.assert(
        fc.property(fc.integer({ min: -32768, max: 32767 }), (s) => {
          const code = law.fromLinear(s);
          const back = law.toLinear(code);
          expect(law.fromLinear(back)).toBe(code);
          // Logarithmic quantiser: the error grows with the level (about 1/16 of it) plus a small floor.
          expect(Math.abs(back - s)).toBeLessThanOrEqual(Math.abs(s) / 16 + 16);
        }),
        { numRuns: 5000 },
      );
    });

    it(`${law.name}: encode is monotonic (decoded level never decreases as the input rises)`, () => {
      const all = allSamples();
      const codes = new Uint8Array(65536);
      law.encode(all, 65536, codes, 0);
      const levels = new Int16Array(65536);
      law.decode(codes, 0, 65536, levels);
      let violations = 0;
      for (let i = 1; i < 65536; i++) if (levels[i]! < levels[i - 1]!) violations++;
      expect(violations).toBe(0);
      expect(levels[0]).toBeLessThan(0);
      expect(levels[65535]).toBeGreaterThan(0);
    });

    it(`${law.name}: bulk functions agree with the scalar ones and honour offsets`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), fc.nat(50), (bytes, pad) => {
          const src = new Uint8Array(pad + bytes.length);
          src.set(bytes, pad);
          const pcm = new Int16Array(bytes.length);
          expect(law.decode(src, pad, bytes.length, pcm)).toBe(bytes.length);
          for (let i = 0; i < bytes.length; i++) expect(pcm[i]).toBe(law.toLinear(bytes[i]!));
          const out = new Uint8Array(pad + bytes.length + 3).fill(0xaa);
          expect(law.encode(pcm, pcm.length, out, pad)).toBe(pcm.length);
          for (let i = 0; i < pcm.length; i++) expect(out[pad + i]).toBe(law.fromLinear(pcm[i]!));
          for (let i = 0; i < pad; i++) expect(out[i]).toBe(0xaa);
          for (let i = pad + pcm.length; i < out.length; i++) expect(out[i]).toBe(0xaa);
        }),
        { numRuns: 200 },
      );
    });

    it(`${law.name}: RangeError on short buffers and bad counts`, () => {
      const bytes = new Uint8Array(160);
      expect(() => law.decode(bytes, 0, 160, new Int16Array(159))).toThrow(RangeError);
      expect(() => law.decode(bytes, 1, 160, new Int16Array(160))).toThrow(RangeError);
      expect(() => law.decode(bytes, -1, 10, new Int16Array(160))).toThrow(RangeError);
      expect(() => law.decode(bytes, 0, 1.5, new Int16Array(160))).toThrow(RangeError);
      const pcm = new Int16Array(160);
      expect(() => law.encode(pcm, 160, new Uint8Array(159), 0)).toThrow(RangeError);
      expect(() => law.encode(pcm, 160, new Uint8Array(160), 1)).toThrow(RangeError);
      expect(() => law.encode(pcm, 161, new Uint8Array(200), 0)).toThrow(RangeError);
      // A failed call writes nothing.
      const dst = new Uint8Array(159).fill(7);
      expect(() => law.encode(pcm, 160, dst, 0)).toThrow(/destination too short/);
      expect(dst.every((b) => b === 7)).toBe(true);
      // Exactly fitting buffers are fine.
      expect(law.encode(pcm, 160, new Uint8Array(170), 10)).toBe(160);
    });
  }
});
