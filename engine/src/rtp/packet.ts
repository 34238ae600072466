import { datagramLength, isRtcp } from './classify.js';
import { RtpParseError, type RtpParseErrorCode } from './errors.js';
import type { RtpHeaderFields } from './serialize.js';

const FIXED_HEADER_BYTES = 12;
const EMPTY = new Uint8Array(0);

function readU16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/**
 * A reusable, zero-copy view over one received RTP datagram (RFC 3550 §5.1).
 *
 * Memory: the view holds a reference to the buffer it parsed and never copies
 * it; `payload`, `headerExtension.data` are subarrays of that buffer. The
 * caller owns the buffer and must keep it unchanged for as long as it reads
 * the view (or anything taken from it). A receive loop keeps one view and calls
 * `tryParse` per datagram, which allocates nothing.
 *
 * The fields are plain properties for speed; treat them as read-only. They are
 * valid only after a successful parse; a failed parse clears them to zero and
 * drops the buffer reference, so a stale packet can never be read by mistake.
 */
export class RtpPacketView {
  buffer: Uint8Array = EMPTY;
  /** Datagram length that was parsed (may be less than `buffer.length`). */
  length = 0;
  version = 0;
  padding = false;
  extension = false;
  csrcCount = 0;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  /** Fixed header + CSRC list + header extension, in bytes. */
  headerLength = 0;
  payloadOffset = 0;
  /** Payload bytes, excluding padding. */
  payloadLength = 0;
  /** Padding bytes including the final count byte; 0 when the P bit is clear. */
  paddingLength = 0;
  /** Header extension "defined by profile" field (0xBEDE for RFC 8285 one-byte headers); 0 without extension. */
  extensionProfile = 0;
  /** Offset and length in `buffer` of the extension data (after its 4-byte header). */
  extensionOffset = 0;
  extensionLength = 0;

  /** Allocating convenience: a fresh view over `buf`; throws RtpParseError. */
  static parse(buf: Uint8Array, length?: number): RtpPacketView {
    return new RtpPacketView().parse(buf, length);
  }

  /**
   * Parses `buf[0..length)` in place. Returns null on success or the reason it
   * is not RTP, without throwing or allocating (hot path). Only a `length` that
   * does not fit the buffer, a caller bug, throws a RangeError.
   */
  tryParse(buf: Uint8Array, length?: number): RtpParseErrorCode | null {
    const len = datagramLength(buf, length);
    const code = this.#parse(buf, len);
    if (code !== null) this.#clear();
    return code;
  }

  /** Same as `tryParse`, but throws RtpParseError. */
  parse(buf: Uint8Array, length?: number): this {
    const code = this.tryParse(buf, length);
    if (code !== null) throw new RtpParseError(code, `${length ?? buf.length}-byte datagram`);
    return this;
  }

  /** The payload (without padding) as a subarray of `buffer`: no copy. */
  get payload(): Uint8Array {
    return this.buffer.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }

  get csrcs(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.csrcCount; i++) out.push(readU32(this.buffer, FIXED_HEADER_BYTES + 4 * i));
    return out;
  }

  /** The header extension, its data a subarray of `buffer`; null when the X bit is clear. */
  get headerExtension(): { profile: number; data: Uint8Array } | null {
    if (!this.extension) return null;
    return {
      profile: this.extensionProfile,
      data: this.buffer.subarray(this.extensionOffset, this.extensionOffset + this.extensionLength),
    };
  }

  /**
   * The parsed header as fields `serializeRtpInto` accepts, so a packet can be
   * re-serialized (allocating: off the hot path).
   */
  headerFields(): RtpHeaderFields {
    const extension = this.headerExtension;
    return {
      marker: this.marker,
      payloadType: this.payloadType,
      sequenceNumber: this.sequenceNumber,
      timestamp: this.timestamp,
      ssrc: this.ssrc,
      csrcs: this.csrcs,
      ...(extension === null ? {} : { extension }),
      paddingLength: this.paddingLength,
    };
  }

  /** The whole datagram as a subarray of `buffer`: no copy. */
  get bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  #parse(buf: Uint8Array, len: number): RtpParseErrorCode | null {
    if (len < 1) return 'TOO_SHORT';
    const b0 = buf[0]!;
    if (b0 >> 6 !== 2) return 'BAD_VERSION';
    if (isRtcp(buf, len)) return 'RTCP';
    if (len < FIXED_HEADER_BYTES) return 'TOO_SHORT';

    const csrcCount = b0 & 0x0f;
    let headerLength = FIXED_HEADER_BYTES + 4 * csrcCount;
    if (headerLength > len) return 'CSRC_OVERFLOW';

    const extension = (b0 & 0x10) !== 0;
    let extensionProfile = 0;
    let extensionOffset = 0;
    let extensionLength = 0;
    if (extension) {
      if (headerLength + 4 > len) return 'EXTENSION_OVERFLOW';
      extensionProfile = readU16(buf, headerLength);
      extensionLength = 4 * readU16(buf, headerLength + 2);
      extensionOffset = headerLength + 4;
      headerLength = extensionOffset + extensionLength;
      if (headerLength > len) return 'EXTENSION_OVERFLOW';
    }

    const padding = (b0 & 0x20) !== 0;
    let paddingLength = 0;
    if (padding) {
      // The last byte counts the padding including itself (RFC 3550 §5.1), so 0 is invalid;
      // when the header fills the datagram that byte belongs to the header and any count is too large.
      paddingLength = buf[len - 1]!;
      if (paddingLength === 0 || paddingLength > len - headerLength) return 'BAD_PADDING';
    }

    const b1 = buf[1]!;
    this.buffer = buf;
    this.length = len;
    this.version = 2;
    this.padding = padding;
    this.extension = extension;
    this.csrcCount = csrcCount;
    this.marker = (b1 & 0x80) !== 0;
    this.payloadType = b1 & 0x7f;
    this.sequenceNumber = readU16(buf, 2);
    this.timestamp = readU32(buf, 4);
    this.ssrc = readU32(buf, 8);
    this.headerLength = headerLength;
    this.payloadOffset = headerLength;
    this.payloadLength = len - headerLength - paddingLength;
    this.paddingLength = paddingLength;
    this.extensionProfile = extensionProfile;
    this.extensionOffset = extensionOffset;
    this.extensionLength = extensionLength;
    return null;
  }

  #clear(): void {
    this.buffer = EMPTY;
    this.length = 0;
    this.version = 0;
    this.padding = false;
    this.extension = false;
    this.csrcCount = 0;
    this.marker = false;
    this.payloadType = 0;
    this.sequenceNumber = 0;
    this.timestamp = 0;
    this.ssrc = 0;
    this.headerLength = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.paddingLength = 0;
    this.extensionProfile = 0;
    this.extensionOffset = 0;
    this.extensionLength = 0;
  }
}
