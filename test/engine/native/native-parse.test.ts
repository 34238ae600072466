import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureNativeBuild, type NativePaths } from '../../../tools/bench/native/native-build.js';
import { runNativeParse, type NativeParseResult } from '../../../tools/bench/native/native-hot-path.js';
import { RtpPacketView, serializeRtp } from '../../../engine/src/rtp/index.js';

/** What RtpPacketView.tryParse says, in the shape hot_path's parse mode prints. */
function tandemParse(datagram: Uint8Array): NativeParseResult {
  const view = new RtpPacketView();
  const code = view.tryParse(datagram);
  if (code !== null) return { ok: false, code };
  return {
    ok: true,
    payloadType: view.payloadType,
    sequenceNumber: view.sequenceNumber,
    timestamp: view.timestamp,
    ssrc: view.ssrc,
    payloadOffset: view.payloadOffset,
    payloadLength: view.payloadLength,
    paddingLength: view.paddingLength,
  };
}

/** Datagrams that reach every branch: random bytes with the version bits, flags and lengths biased toward the edges. */
const datagram = fc
  .tuple(
    fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 16 }), fc.uint8Array({ minLength: 12, maxLength: 200, size: 'max' })),
    fc.constantFrom(0x80, 0x90, 0xa0, 0xb0, 0x8f, 0x40, 0x00, 0xbf),
    fc.constantFrom(0x00, 0x80, 0xc8, 0xc9, 0xdf, 0xe0, 0x7f),
    fc.boolean(),
  )
  .map(([bytes, b0, b1, keepRandom]) => {
    const out = Uint8Array.from(bytes);
    if (!keepRandom && out.length > 0) out[0] = b0 | (out[0]! & 0x0f & (b0 & 0x0f ? 0x0f : 0x03));
    if (!keepRandom && out.length > 1) out[1] = b1;
    return out;
  });

describe('C RTP parser against RtpPacketView.tryParse', () => {
  let paths: NativePaths;
  beforeAll(async () => {
    paths = await ensureNativeBuild();
  }, 120_000);

  it('agrees on crafted packets, valid and each kind of invalid', async () => {
    const payload = Uint8Array.from({ length: 160 }, (_, i) => i);
    const cases: Uint8Array[] = [
      serializeRtp({ marker: true, payloadType: 0, sequenceNumber: 65535, timestamp: 0xffffffff, ssrc: 0xdeadbeef }, payload),
      serializeRtp({ marker: false, payloadType: 8, sequenceNumber: 1, timestamp: 2, ssrc: 3, csrcs: [1, 2, 3] }, payload),
      serializeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, extension: { profile: 0xbede, data: new Uint8Array(8) } }, payload),
      serializeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, paddingLength: 4 }, payload),
      new Uint8Array(0), // TOO_SHORT
      Uint8Array.of(0x80, 0, 0, 1), // TOO_SHORT
      Uint8Array.of(0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), // BAD_VERSION
      Uint8Array.of(0x81, 0xc8, 0, 6, ...new Array<number>(24).fill(0)), // RTCP sender report
      Uint8Array.of(0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0), // CSRC_OVERFLOW
      Uint8Array.of(0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 5), // EXTENSION_OVERFLOW
      Uint8Array.of(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0), // BAD_PADDING (count 0)
      Uint8Array.of(0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 9), // BAD_PADDING (too large)
    ];
    const c = await runNativeParse(paths, cases);
    expect(c).toEqual(cases.map(tandemParse));
    expect(c.map((r) => (r.ok ? 'OK' : r.code))).toEqual([
      'OK', 'OK', 'OK', 'OK', 'TOO_SHORT', 'TOO_SHORT', 'BAD_VERSION', 'RTCP', 'CSRC_OVERFLOW', 'EXTENSION_OVERFLOW', 'BAD_PADDING', 'BAD_PADDING',
    ]);
  }, 60_000);

  it('agrees on random datagrams', async () => {
    const samples = fc.sample(datagram, { numRuns: 3000, seed: 20261123 });
    const c = await runNativeParse(paths, samples);
    const mismatches = samples.filter((d, i) => JSON.stringify(c[i]) !== JSON.stringify(tandemParse(d)));
    expect(mismatches.map((d) => Buffer.from(d).toString('hex'))).toEqual([]);
    // The sample reaches both verdicts, so the comparison is not vacuous.
    expect(c.some((r) => r.ok)).toBe(true);
    expect(new Set(c.filter((r) => !r.ok).map((r) => (r.ok ? '' : r.code))).size).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
