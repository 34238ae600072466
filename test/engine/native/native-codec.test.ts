import { beforeAll, describe, expect, it } from 'vitest';
import { ensureNativeBuild, type NativePaths } from '../../../tools/bench/native/native-build.js';
import { codecChecksum, runNativeCodecDump, type NativeCodecDump } from '../../../tools/bench/native/native-hot-path.js';
import { alawToLinear, encodeAlaw, encodeUlaw, linearToAlaw, linearToUlaw, ulawToLinear } from '../../../engine/src/codec/index.js';

/** Every int16 value in order, index = sample + 32768 (the order hot_path prints). */
const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

describe('C G.711 against the TypeScript codec', () => {
  let paths: NativePaths;
  let c: NativeCodecDump;
  beforeAll(async () => {
    paths = await ensureNativeBuild();
    c = await runNativeCodecDump(paths);
  }, 120_000);

  it('decodes every µ-law and A-law code to the same sample', () => {
    const ulaw = Int16Array.from({ length: 256 }, (_, code) => ulawToLinear(code));
    const alaw = Int16Array.from({ length: 256 }, (_, code) => alawToLinear(code));
    expect(c.ulawDecode).toEqual(ulaw);
    expect(c.alawDecode).toEqual(alaw);
  });

  it('encodes every int16 sample to the same µ-law code (scalar and block encoders)', () => {
    const scalar = Uint8Array.from(ALL_SAMPLES, (s) => linearToUlaw(s));
    const block = new Uint8Array(65536);
    encodeUlaw(ALL_SAMPLES, ALL_SAMPLES.length, block, 0);
    expect(c.ulawEncode).toEqual(scalar);
    expect(c.ulawEncode).toEqual(block);
  });

  it('encodes every int16 sample to the same A-law code', () => {
    const scalar = Uint8Array.from(ALL_SAMPLES, (s) => linearToAlaw(s));
    const block = new Uint8Array(65536);
    encodeAlaw(ALL_SAMPLES, ALL_SAMPLES.length, block, 0);
    expect(c.alawEncode).toEqual(scalar);
    expect(c.alawEncode).toEqual(block);
  });

  it('prints a checksum that matches the same hash over the TypeScript tables', () => {
    const ts = {
      ulawDecode: Int16Array.from({ length: 256 }, (_, code) => ulawToLinear(code)),
      alawDecode: Int16Array.from({ length: 256 }, (_, code) => alawToLinear(code)),
      ulawEncode: Uint8Array.from(ALL_SAMPLES, (s) => linearToUlaw(s)),
      alawEncode: Uint8Array.from(ALL_SAMPLES, (s) => linearToAlaw(s)),
    };
    expect(codecChecksum(ts)).toBe(c.checksum);
    // The hash sees a one-entry difference.
    ts.ulawEncode[12345] = ts.ulawEncode[12345]! ^ 1;
    expect(codecChecksum(ts)).not.toBe(c.checksum);
  });
});
