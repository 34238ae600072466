import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtpPacketView, rtpByteLength, serializeRtp, serializeRtpInto, writeRtpHeader } from '../../../engine/src/rtp/index.js';
import type { RtpHeaderFields } from '../../../engine/src/rtp/index.js';

const base: RtpHeaderFields = { marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3 };

const fieldsArb: fc.Arbitrary<RtpHeaderFields> = fc.record(
  {
    marker: fc.boolean(),
    payloadType: fc.integer({ min: 0, max: 127 }),
    sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
    timestamp: fc.integer({ min: 0, max: 0xffff_ffff }),
    ssrc: fc.integer({ min: 0, max: 0xffff_ffff }),
    csrcs: fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 15 }),
    extension: fc.record({
      profile: fc.integer({ min: 0, max: 0xffff }),
      data: fc.integer({ min: 0, max: 16 }).chain((words) => fc.uint8Array({ minLength: 4 * words, maxLength: 4 * words })),
    }),
    paddingLength: fc.integer({ min: 0, max: 255 }),
  },
  { requiredKeys: ['marker', 'payloadType', 'sequenceNumber', 'timestamp', 'ssrc'] },
);

/** RFC 5761: marker + PT 64..95 puts 192..223 in byte 1, which a muxed port must read as RTCP. */
function collidesWithRtcp(fields: RtpHeaderFields): boolean {
  return fields.marker && fields.payloadType >= 64 && fields.payloadType <= 95;
}

describe('serializeRtpInto / rtpByteLength', () => {
  it('property: parse ∘ serialize returns every field and the payload; byte length matches what was written', () => {
    fc.assert(
      fc.property(fieldsArb, fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 8 }), (fields, payload, offset) => {
        const size = rtpByteLength(fields, payload.length);
        const out = new Uint8Array(offset + size + 3).fill(0x5a);
        expect(serializeRtpInto(fields, payload, out, offset)).toBe(size);
        expect(Array.from(out.subarray(0, offset)).every((b) => b === 0x5a)).toBe(true); // nothing written before offset
        expect(Array.from(out.subarray(offset + size)).every((b) => b === 0x5a)).toBe(true); // nor after the packet

        const view = new RtpPacketView();
        const code = view.tryParse(out.subarray(offset, offset + size));
        if (collidesWithRtcp(fields)) {
          expect(code).toBe('RTCP');
          return;
        }
        expect(code).toBeNull();
        expect(view.marker).toBe(fields.marker);
        expect(view.payloadType).toBe(fields.payloadType);
        expect(view.sequenceNumber).toBe(fields.sequenceNumber);
        expect(view.timestamp).toBe(fields.timestamp);
        expect(view.ssrc).toBe(fields.ssrc);
        expect(view.csrcs).toEqual(fields.csrcs ?? []);
        expect(view.padding).toBe((fields.paddingLength ?? 0) > 0);
        expect(view.paddingLength).toBe(fields.paddingLength ?? 0);
        if (fields.extension === undefined) {
          expect(view.headerExtension).toBeNull();
        } else {
          expect(view.headerExtension?.profile).toBe(fields.extension.profile);
          expect(Array.from(view.headerExtension?.data ?? [])).toEqual(Array.from(fields.extension.data));
        }
        expect(Array.from(view.payload)).toEqual(Array.from(payload));

        // and serialize ∘ parse is the identity on the bytes
        const again = serializeRtp(view.headerFields(), view.payload);
        expect(again.equals(out.subarray(offset, offset + size))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('writes the RFC 3550 layout for a known packet', () => {
    const bytes = serializeRtp(
      { marker: true, payloadType: 118, sequenceNumber: 0xf377, timestamp: 0x70, ssrc: 0x2d1f8153, csrcs: [0x01020304], paddingLength: 4 },
      Uint8Array.of(0xaa, 0xbb),
    );
    // byte 0: V=2 | P | CC=1 = 0xa1; byte 1: M | 118 = 0xf6; 4 padding bytes end in their count
    expect(bytes.toString('hex')).toBe('a1f6f377000000702d1f815301020304aabb00000004');
  });

  it('throws a RangeError naming both sizes when the output buffer is short', () => {
    const payload = new Uint8Array(160);
    expect(() => serializeRtpInto(base, payload, new Uint8Array(171))).toThrow(/needs 172 bytes.*has 171 bytes/);
    expect(() => serializeRtpInto(base, payload, new Uint8Array(180), 10)).toThrow(/needs 172 bytes.*has 170 bytes from offset 10/);
    expect(serializeRtpInto(base, payload, new Uint8Array(182), 10)).toBe(172);
  });

  it.each<[string, Partial<RtpHeaderFields>]>([
    ['payloadType 128', { payloadType: 128 }],
    ['payloadType -1', { payloadType: -1 }],
    ['payloadType 1.5', { payloadType: 1.5 }],
    ['sequenceNumber 65536', { sequenceNumber: 65536 }],
    ['sequenceNumber NaN', { sequenceNumber: Number.NaN }],
    ['timestamp 2^32', { timestamp: 2 ** 32 }],
    ['timestamp -1', { timestamp: -1 }],
    ['ssrc 2^32', { ssrc: 2 ** 32 }],
    ['16 CSRCs', { csrcs: new Array<number>(16).fill(1) }],
    ['a CSRC of 2^32', { csrcs: [2 ** 32] }],
    ['extension data of 3 bytes', { extension: { profile: 0xbede, data: new Uint8Array(3) } }],
    ['extension profile 65536', { extension: { profile: 0x10000, data: new Uint8Array(4) } }],
    ['paddingLength 256', { paddingLength: 256 }],
    ['paddingLength -1', { paddingLength: -1 }],
  ])('rejects %s with RangeError', (_name, patch) => {
    const fields = { ...base, ...patch };
    expect(() => rtpByteLength(fields, 0)).toThrow(RangeError);
    expect(() => serializeRtpInto(fields, new Uint8Array(0), new Uint8Array(2000))).toThrow(RangeError);
    expect(() => serializeRtp(fields, new Uint8Array(0))).toThrow(RangeError);
  });

  it('rejects a negative or out-of-buffer offset', () => {
    expect(() => serializeRtpInto(base, new Uint8Array(0), new Uint8Array(20), -1)).toThrow(RangeError);
    expect(() => serializeRtpInto(base, new Uint8Array(0), new Uint8Array(20), 21)).toThrow(RangeError);
  });
});

describe('writeRtpHeader', () => {
  it('writes exactly 12 bytes that equal the general serializer’s header', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 127 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (marker, payloadType, sequenceNumber, timestamp, ssrc) => {
          const out = new Uint8Array(16).fill(0x77);
          expect(writeRtpHeader(out, 2, marker, payloadType, sequenceNumber, timestamp, ssrc)).toBe(12);
          const expected = serializeRtp({ marker, payloadType, sequenceNumber, timestamp, ssrc }, new Uint8Array(0));
          expect(Buffer.from(out.subarray(2, 14)).equals(expected)).toBe(true);
          expect([out[0], out[1], out[14], out[15]]).toEqual([0x77, 0x77, 0x77, 0x77]);
        },
      ),
    );
  });

  it('rejects out-of-range values and a buffer without 12 bytes of room', () => {
    const out = new Uint8Array(12);
    expect(() => writeRtpHeader(out, 0, false, 128, 0, 0, 0)).toThrow(RangeError);
    expect(() => writeRtpHeader(out, 0, false, 0, 65536, 0, 0)).toThrow(RangeError);
    expect(() => writeRtpHeader(out, 0, false, 0, 0, -1, 0)).toThrow(RangeError);
    expect(() => writeRtpHeader(out, 0, false, 0, 0, 0, 2 ** 32)).toThrow(RangeError);
    expect(() => writeRtpHeader(out, 1, false, 0, 0, 0, 0)).toThrow(/needs 12 bytes, buffer has 12/);
    expect(writeRtpHeader(out, 0, true, 127, 65535, 0xffff_ffff, 0xffff_ffff)).toBe(12);
    expect(Buffer.from(out).toString('hex')).toBe('80ffffffffffffffffffffff');
  });
});
