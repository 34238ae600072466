import { describe, expect, it } from 'vitest';
import { RtpPacketView, RtpParseError, isRtcp, isRtp, serializeRtp } from '../../../engine/src/rtp/index.js';
import type { RtpParseErrorCode } from '../../../engine/src/rtp/index.js';

/** A plain 12-byte header: V=2, PT 0, seq 0x1234, ts 0x01020304, SSRC 0xdeadbeef. */
function header(byte0 = 0x80, byte1 = 0x00): number[] {
  return [byte0, byte1, 0x12, 0x34, 0x01, 0x02, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef];
}

function codeOf(bytes: number[] | Uint8Array): RtpParseErrorCode | null {
  return new RtpPacketView().tryParse(Uint8Array.from(bytes));
}

describe('RtpPacketView', () => {
  describe('error codes (hand-built packets)', () => {
    const cases: [string, number[], RtpParseErrorCode][] = [
      ['empty datagram', [], 'TOO_SHORT'],
      ['11 bytes', header().slice(0, 11), 'TOO_SHORT'],
      ['version 0', header(0x00), 'BAD_VERSION'],
      ['version 1', header(0x40), 'BAD_VERSION'],
      ['version 3', header(0xc0), 'BAD_VERSION'],
      ['one-byte datagram with version 1', [0x40], 'BAD_VERSION'],
      ['CC=1 but no CSRC', header(0x81), 'CSRC_OVERFLOW'],
      ['CC=15 with 14 CSRCs', [...header(0x8f), ...new Array<number>(14 * 4).fill(7)], 'CSRC_OVERFLOW'],
      ['X=1 with no extension header', header(0x90), 'EXTENSION_OVERFLOW'],
      ['X=1 with 3 bytes of extension header', [...header(0x90), 0xbe, 0xde, 0x00], 'EXTENSION_OVERFLOW'],
      ['X=1, length 2 words, 7 bytes of data', [...header(0x90), 0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7], 'EXTENSION_OVERFLOW'],
      ['X=1, CC=1: extension after the CSRC missing', [...header(0x91), 0, 0, 0, 1], 'EXTENSION_OVERFLOW'],
      ['P=1, count 0', [...header(0xa0), 1, 2, 0], 'BAD_PADDING'],
      ['P=1, count larger than the payload area', [...header(0xa0), 1, 2, 4], 'BAD_PADDING'],
      ['P=1 and no payload area at all', header(0xa0), 'BAD_PADDING'],
      ['RTCP SR (PT 200)', [0x80, 200, 0x00, 0x06, ...new Array<number>(24).fill(0)], 'RTCP'],
      ['RTCP RR, 8 bytes (shorter than an RTP header)', [0x81, 201, 0x00, 0x01, 1, 2, 3, 4], 'RTCP'],
      ['RTCP BYE (PT 203)', [0x81, 203, 0x00, 0x01, 1, 2, 3, 4], 'RTCP'],
    ];
    for (const [name, bytes, code] of cases) {
      it(`${name} → ${code}`, () => {
        expect(codeOf(bytes)).toBe(code);
        let thrown: unknown;
        try {
          RtpPacketView.parse(Uint8Array.from(bytes));
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(RtpParseError);
        expect((thrown as RtpParseError).code).toBe(code);
        expect((thrown as RtpParseError).name).toBe('RtpParseError');
      });
    }

    it('accepts the boundary cases next to each error', () => {
      expect(codeOf(header())).toBeNull(); // exactly 12 bytes, empty payload
      expect(codeOf([...header(0x81), 0, 0, 0, 1])).toBeNull(); // CSRC list fills the datagram
      expect(codeOf([...header(0x90), 0xbe, 0xde, 0x00, 0x00])).toBeNull(); // zero-length extension
      expect(codeOf([...header(0xa0), 1, 2, 3])).toBeNull(); // padding = whole payload area
      expect(codeOf([...header(0xa0), 1])).toBeNull(); // a single padding byte, empty payload
      expect(codeOf(header(0x80, 0xff))).toBeNull(); // marker + PT 127 (byte 1 = 255, outside 192..223)
      expect(codeOf(header(0x80, 0xbf))).toBeNull(); // marker + PT 63 (byte 1 = 191)
    });
  });

  it('reads CSRCs, a header extension and padding from one packet', () => {
    const bytes = Uint8Array.from([
      ...header(0xb2, 0xe0), // P, X, CC=2; marker, PT 96
      0x11, 0x11, 0x11, 0x11,
      0xff, 0xff, 0xff, 0xfe,
      0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, // RFC 8285 one-byte extension, 1 word
      0x01, 0x02, 0x03, // payload
      0x00, 0x00, 0x03, // 3 padding bytes
    ]);
    const view = RtpPacketView.parse(bytes);
    expect(view).toMatchObject({
      version: 2,
      padding: true,
      extension: true,
      csrcCount: 2,
      marker: true,
      payloadType: 96,
      sequenceNumber: 0x1234,
      timestamp: 0x01020304,
      ssrc: 0xdeadbeef,
      headerLength: 28,
      payloadOffset: 28,
      payloadLength: 3,
      paddingLength: 3,
      extensionProfile: 0xbede,
      length: bytes.length,
    });
    expect(view.csrcs).toEqual([0x11111111, 0xfffffffe]);
    const ext = view.headerExtension;
    expect(ext?.profile).toBe(0xbede);
    expect(Array.from(ext?.data ?? [])).toEqual([0x10, 0xaa, 0x00, 0x00]);
    expect(Array.from(view.payload)).toEqual([1, 2, 3]);
  });

  it('is zero-copy: payload and extension data share the datagram’s memory', () => {
    const bytes = serializeRtp(
      { marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, extension: { profile: 1, data: Uint8Array.of(9, 9, 9, 9) } },
      Uint8Array.of(5, 6, 7),
    );
    const view = RtpPacketView.parse(bytes);
    expect(view.buffer).toBe(bytes);
    bytes[bytes.length - 1] = 42;
    expect(view.payload[2]).toBe(42);
    view.headerExtension!.data[0] = 1;
    expect(bytes[16]).toBe(1);
  });

  it('honours `length` (a datagram received into a larger buffer) and a Buffer with a byteOffset', () => {
    const pool = Buffer.alloc(64, 0xee);
    const datagram = pool.subarray(8, 8 + 20);
    datagram.set(header(0xa0, 0x08), 0);
    datagram[15] = 2; // datagram is 16 bytes: 2 payload bytes + 2 padding bytes
    const view = new RtpPacketView();
    expect(view.tryParse(datagram, 16)).toBeNull();
    expect(view).toMatchObject({ length: 16, payloadType: 8, payloadLength: 2, paddingLength: 2, sequenceNumber: 0x1234 });
    expect(Array.from(view.payload)).toEqual([0xee, 0xee]);
    expect(Array.from(view.bytes)).toEqual(Array.from(datagram.subarray(0, 16)));
  });

  it('rejects a `length` outside the buffer as a caller bug (RangeError), not as a packet error', () => {
    const view = new RtpPacketView();
    const bytes = Uint8Array.from(header());
    expect(() => view.tryParse(bytes, 13)).toThrow(RangeError);
    expect(() => view.tryParse(bytes, -1)).toThrow(RangeError);
    expect(() => view.tryParse(bytes, 1.5)).toThrow(RangeError);
  });

  it('is reusable, and a failed parse clears the previous packet instead of leaving it readable', () => {
    const view = new RtpPacketView();
    expect(view.tryParse(Uint8Array.from(header(0x80, 0x80)))).toBeNull();
    expect(view.ssrc).toBe(0xdeadbeef);
    expect(view.marker).toBe(true);
    expect(view.tryParse(Uint8Array.from(header(0x40)))).toBe('BAD_VERSION');
    expect(view).toMatchObject({ ssrc: 0, marker: false, sequenceNumber: 0, payloadLength: 0, version: 0 });
    expect(view.buffer.length).toBe(0);
    const second = Uint8Array.from([...header(0x80, 0x08), 7, 7]);
    second[3] = 0x35;
    expect(view.tryParse(second)).toBeNull();
    expect(view).toMatchObject({ payloadType: 8, sequenceNumber: 0x1235, payloadLength: 2 });
  });
});

describe('isRtp / isRtcp', () => {
  it('splits on byte 1 = 192..223 for version 2 only', () => {
    for (let b1 = 0; b1 < 256; b1++) {
      const bytes = Uint8Array.from(header(0x80, b1));
      const rtcp = b1 >= 192 && b1 <= 223;
      expect(isRtcp(bytes)).toBe(rtcp);
      expect(isRtp(bytes)).toBe(!rtcp);
      bytes[0] = 0x40; // version 1: neither
      expect(isRtcp(bytes)).toBe(false);
      expect(isRtp(bytes)).toBe(false);
    }
  });

  it('needs 4 bytes for RTCP and 12 for RTP, and honours `length`', () => {
    const bytes = Uint8Array.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(isRtcp(bytes, 3)).toBe(false);
    expect(isRtcp(bytes, 4)).toBe(true);
    bytes[1] = 0;
    expect(isRtp(bytes, 11)).toBe(false);
    expect(isRtp(bytes, 12)).toBe(true);
    expect(isRtp(new Uint8Array(0))).toBe(false);
    expect(isRtcp(new Uint8Array(0))).toBe(false);
  });
});
