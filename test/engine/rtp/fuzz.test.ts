import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RtpPacketView, RtpParseError, serializeRtp, serializeRtpInto } from '../../../engine/src/rtp/index.js';
import type { RtpParseErrorCode } from '../../../engine/src/rtp/index.js';
import { hex, loadCapture } from './support/fixtures.js';
import { seededRandom } from '../../support/random.js';

const ITERATIONS = 1_000_000;


/**
 * An independent, deliberately plain reading of RFC 3550 §5.1 + RFC 5761 (DataView,
 * no shared helpers) for differential checking of the parser's verdicts.
 */
function referenceCode(buf: Uint8Array, len: number): RtpParseErrorCode | null {
  if (len === 0) return 'TOO_SHORT';
  const dv = new DataView(buf.buffer, buf.byteOffset, len);
  const version = Math.floor(dv.getUint8(0) / 64);
  if (version !== 2) return 'BAD_VERSION';
  if (len >= 4 && dv.getUint8(1) >= 192 && dv.getUint8(1) <= 223) return 'RTCP';
  if (len < 12) return 'TOO_SHORT';
  let end = 12 + (dv.getUint8(0) % 16) * 4;
  if (end > len) return 'CSRC_OVERFLOW';
  if (dv.getUint8(0) & 0x10) {
    if (end + 4 > len) return 'EXTENSION_OVERFLOW';
    end += 4 + dv.getUint16(end + 2) * 4;
    if (end > len) return 'EXTENSION_OVERFLOW';
  }
  if (dv.getUint8(0) & 0x20) {
    const count = dv.getUint8(len - 1);
    if (count === 0 || count > len - end) return 'BAD_PADDING';
  }
  return null;
}

function seeds(): Uint8Array[] {
  const golden = [loadCapture('s1_pair_caller_hangup'), loadCapture('s5_slin16')].flatMap((c) => [
    ...c.flows.map((f) => hex(f.first[0]!.hex)),
    ...c.rtcp.map((d) => hex(d.hex)),
  ]);
  const built = [
    serializeRtp({ marker: true, payloadType: 96, sequenceNumber: 65535, timestamp: 0xffff_ffff, ssrc: 1, csrcs: [1, 2, 3] }, new Uint8Array(20)),
    serializeRtp(
      { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 2, extension: { profile: 0xbede, data: new Uint8Array(8).fill(0x21) } },
      new Uint8Array(160).fill(0xff),
    ),
    serializeRtp({ marker: false, payloadType: 8, sequenceNumber: 7, timestamp: 7, ssrc: 3, paddingLength: 7 }, new Uint8Array(33)),
    serializeRtp(
      { marker: true, payloadType: 118, sequenceNumber: 9, timestamp: 9, ssrc: 4, csrcs: [5], extension: { profile: 0x1000, data: new Uint8Array(4) }, paddingLength: 1 },
      new Uint8Array(0),
    ),
  ];
  return [...golden, ...built];
}

describe('parser fuzzing', () => {
  it(`${ITERATIONS.toLocaleString('en')} random and mutated datagrams: tryParse never throws, parse throws only RtpParseError, both agree with a reference reader`, () => {
    const seed = randomInt(0, 2 ** 32);
    const rand = seededRandom(seed);
    const int = (n: number): number => Math.floor(rand() * n);
    const corpus = seeds();
    const scratch = new Uint8Array(2048);
    const out = new Uint8Array(4096);
    const view = new RtpPacketView();
    const failures: string[] = [];
    const verdicts = new Map<RtpParseErrorCode | 'OK', number>();
    // Most of the million datagrams make parse() throw; capturing a stack for each would
    // dominate the run, and only the error's class and code are asserted.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {

      for (let i = 0; i < ITERATIONS && failures.length < 5; i++) {
        let len: number;
        const kind = int(8);
        if (kind === 0) {
          // Pure noise, half of it with version 2 so it reaches the deeper checks.
          len = int(300);
          for (let j = 0; j < len; j++) scratch[j] = int(256);
          if (len > 0 && rand() < 0.5) scratch[0] = (scratch[0]! & 0x3f) | 0x80;
        } else {
          const base = corpus[int(corpus.length)]!;
          scratch.set(base);
          len = base.length;
          const flips = 1 + int(4);
          for (let f = 0; f < flips; f++) {
            // Bias flips to the header, where the structure lives.
            const at = rand() < 0.7 ? int(Math.min(len, 24)) : int(len);
            scratch[at] = scratch[at]! ^ (1 << int(8));
          }
          if (kind === 1) len = int(len + 1); // truncate
          if (kind === 2) {
            // extend with garbage
            const extra = int(64);
            for (let j = 0; j < extra; j++) scratch[len + j] = int(256);
            len += extra;
          }
          if (kind === 3) scratch[len - 1] = int(256); // arbitrary padding count
          if (kind === 4) scratch[0] = 0x80 | (int(4) << 4) | int(16); // random P, X, CC
        }

        const expected = referenceCode(scratch, len);
        let code: RtpParseErrorCode | null;
        try {
          code = view.tryParse(scratch, len);
        } catch (err) {
          failures.push(`#${i} tryParse threw ${String(err)}`);
          continue;
        }
        verdicts.set(code ?? 'OK', (verdicts.get(code ?? 'OK') ?? 0) + 1);
        if (code !== expected) failures.push(`#${i} tryParse=${code} reference=${expected} bytes=${Buffer.from(scratch.subarray(0, len)).toString('hex')}`);

        try {
          view.parse(scratch, len);
          if (code !== null) failures.push(`#${i} parse accepted what tryParse rejected (${code})`);
        } catch (err) {
          if (!(err instanceof RtpParseError)) failures.push(`#${i} parse threw a non-RtpParseError: ${String(err)}`);
          else if (err.code !== code) failures.push(`#${i} parse code ${err.code} != tryParse ${code}`);
        }

        if (code === null) {
          if (view.headerLength + view.payloadLength + view.paddingLength !== len || view.payloadOffset !== view.headerLength || view.headerLength < 12 + 4 * view.csrcCount) {
            failures.push(`#${i} inconsistent lengths`);
          }
          // Round trip: identical bytes except padding filler, which the serializer writes as zeros.
          const written = serializeRtpInto(view.headerFields(), view.payload, out);
          const keep = len - view.paddingLength;
          if (written !== len || Buffer.compare(out.subarray(0, keep), scratch.subarray(0, keep)) !== 0 || out[len - 1] !== scratch[len - 1]) {
            failures.push(`#${i} round trip differs`);
          }
        }
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }

    expect(failures, `PRNG seed ${seed}`).toEqual([]);
    // The corpus must actually reach every verdict, or the fuzzing proves little.
    for (const v of ['OK', 'TOO_SHORT', 'BAD_VERSION', 'CSRC_OVERFLOW', 'EXTENSION_OVERFLOW', 'BAD_PADDING', 'RTCP'] as const) {
      expect(verdicts.get(v) ?? 0, `verdict ${v} (seed ${seed})`).toBeGreaterThan(1000);
    }
    expect([...verdicts.values()].reduce((a, b) => a + b, 0)).toBe(ITERATIONS);
  });
});
