/**
 * Writing RTP packets (RFC 3550 §5.1) into caller-owned buffers. `rtpByteLength`
 * says how much room a packet needs; `serializeRtpInto` writes it and returns
 * the same number; `serializeRtp` allocates on top of the two. The send hot
 * path uses `writeRtpHeader` (plain 12-byte header) into a preallocated buffer.
 */

const FIXED_HEADER_BYTES = 12;
const MAX_CSRCS = 15;
const MAX_EXTENSION_DATA_BYTES = 0xffff * 4;

export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  /** `data.length` must be a multiple of 4 (the wire length is in 32-bit words). */
  extension?: { profile: number; data: Uint8Array };
  /** Padding bytes to append including the count byte, 0–255; 0 or absent means no padding. */
  paddingLength?: number;
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

function requireUint(name: string, value: number, max: number): void {
  if (!isUint(value, max)) throw new RangeError(`${name} must be an integer in 0..${max}, got ${value}`);
}

function validateFields(fields: RtpHeaderFields): void {
  requireUint('payloadType', fields.payloadType, 0x7f);
  requireUint('sequenceNumber', fields.sequenceNumber, 0xffff);
  requireUint('timestamp', fields.timestamp, 0xffff_ffff);
  requireUint('ssrc', fields.ssrc, 0xffff_ffff);
  const csrcs = fields.csrcs;
  if (csrcs !== undefined) {
    if (csrcs.length > MAX_CSRCS) throw new RangeError(`at most ${MAX_CSRCS} CSRCs fit the header, got ${csrcs.length}`);
    for (const csrc of csrcs) requireUint('csrc', csrc, 0xffff_ffff);
  }
  const extension = fields.extension;
  if (extension !== undefined) {
    requireUint('extension.profile', extension.profile, 0xffff);
    const size = extension.data.length;
    if (size % 4 !== 0 || size > MAX_EXTENSION_DATA_BYTES) {
      throw new RangeError(`extension data must be a multiple of 4 bytes, at most ${MAX_EXTENSION_DATA_BYTES}, got ${size}`);
    }
  }
  if (fields.paddingLength !== undefined) requireUint('paddingLength', fields.paddingLength, 0xff);
}

function unvalidatedByteLength(fields: RtpHeaderFields, payloadLength: number): number {
  const csrcBytes = 4 * (fields.csrcs?.length ?? 0);
  const extensionBytes = fields.extension === undefined ? 0 : 4 + fields.extension.data.length;
  return FIXED_HEADER_BYTES + csrcBytes + extensionBytes + payloadLength + (fields.paddingLength ?? 0);
}

/** Bytes the packet will take on the wire; throws RangeError for out-of-range fields. */
export function rtpByteLength(fields: RtpHeaderFields, payloadLength: number): number {
  validateFields(fields);
  requireUint('payloadLength', payloadLength, Number.MAX_SAFE_INTEGER);
  return unvalidatedByteLength(fields, payloadLength);
}

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/**
 * Writes header + payload (+ padding) into `out` at `offset`; returns the bytes
 * written, which always equals `rtpByteLength(fields, payload.length)`. Throws
 * RangeError for out-of-range fields, or naming both sizes if `out` is too short.
 */
export function serializeRtpInto(fields: RtpHeaderFields, payload: Uint8Array, out: Uint8Array, offset = 0): number {
  validateFields(fields);
  requireUint('offset', offset, out.length);
  const size = unvalidatedByteLength(fields, payload.length);
  if (out.length - offset < size) {
    throw new RangeError(`RTP packet needs ${size} bytes but the output buffer has ${out.length - offset} bytes from offset ${offset}`);
  }

  const csrcs = fields.csrcs ?? [];
  const extension = fields.extension;
  const paddingLength = fields.paddingLength ?? 0;
  out[offset] = 0x80 | (paddingLength > 0 ? 0x20 : 0) | (extension === undefined ? 0 : 0x10) | csrcs.length;
  out[offset + 1] = (fields.marker ? 0x80 : 0) | fields.payloadType;
  out[offset + 2] = fields.sequenceNumber >>> 8;
  out[offset + 3] = fields.sequenceNumber;
  writeU32(out, offset + 4, fields.timestamp);
  writeU32(out, offset + 8, fields.ssrc);

  let at = offset + FIXED_HEADER_BYTES;
  for (const csrc of csrcs) {
    writeU32(out, at, csrc);
    at += 4;
  }
  if (extension !== undefined) {
    out[at] = extension.profile >>> 8;
    out[at + 1] = extension.profile;
    const words = extension.data.length / 4;
    out[at + 2] = words >>> 8;
    out[at + 3] = words;
    out.set(extension.data, at + 4);
    at += 4 + extension.data.length;
  }
  out.set(payload, at);
  at += payload.length;
  if (paddingLength > 0) {
    out.fill(0, at, at + paddingLength - 1);
    out[at + paddingLength - 1] = paddingLength;
    at += paddingLength;
  }
  return at - offset;
}

/** Allocating convenience over `serializeRtpInto`. */
export function serializeRtp(fields: RtpHeaderFields, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(rtpByteLength(fields, payload.length));
  serializeRtpInto(fields, payload, out, 0);
  return out;
}

/**
 * Hot path: writes a plain 12-byte header (no CSRC, extension or padding) at
 * `out[offset..offset+12)`. Returns 12. The range checks are a handful of
 * integer comparisons; a bad value is a caller bug and throws RangeError.
 */
export function writeRtpHeader(
  out: Uint8Array,
  offset: number,
  marker: boolean,
  payloadType: number,
  sequenceNumber: number,
  timestamp: number,
  ssrc: number,
): number {
  if (
    (payloadType & 0x7f) !== payloadType ||
    (sequenceNumber & 0xffff) !== sequenceNumber ||
    timestamp >>> 0 !== timestamp ||
    ssrc >>> 0 !== ssrc ||
    offset >>> 0 !== offset ||
    offset + FIXED_HEADER_BYTES > out.length
  ) {
    throw new RangeError(
      `bad RTP header: payloadType=${payloadType} sequenceNumber=${sequenceNumber} timestamp=${timestamp} ssrc=${ssrc} ` +
        `offset=${offset} (needs ${FIXED_HEADER_BYTES} bytes, buffer has ${out.length})`,
    );
  }
  out[offset] = 0x80;
  out[offset + 1] = (marker ? 0x80 : 0) | payloadType;
  out[offset + 2] = sequenceNumber >>> 8;
  out[offset + 3] = sequenceNumber;
  out[offset + 4] = timestamp >>> 24;
  out[offset + 5] = timestamp >>> 16;
  out[offset + 6] = timestamp >>> 8;
  out[offset + 7] = timestamp;
  out[offset + 8] = ssrc >>> 24;
  out[offset + 9] = ssrc >>> 16;
  out[offset + 10] = ssrc >>> 8;
  out[offset + 11] = ssrc;
  return FIXED_HEADER_BYTES;
}
