/**
 * Cheap RTP/RTCP demultiplexing for one port (RFC 5761 §4): both have version 2
 * in the top bits of byte 0; RTCP packet types 192–223 fill byte 1, where RTP
 * has the marker bit and payload type. RTP payload types 64–95 sent with the
 * marker bit would therefore look like RTCP, which is why RFC 5761 forbids them
 * on a multiplexed port (Asterisk never uses them: its dynamic types are 96–127).
 */

/** RTCP's 4-byte common header (V/P/RC, PT, length). */
const RTCP_HEADER_BYTES = 4;
const RTP_HEADER_BYTES = 12;

/** The effective datagram length: `length` if given (a received size inside a larger buffer), else the whole buffer. */
export function datagramLength(buf: Uint8Array, length: number | undefined): number {
  if (length === undefined) return buf.length;
  // `>>> 0` rejects negatives and fractions in one comparison.
  if (length >>> 0 !== length || length > buf.length) {
    throw new RangeError(`datagram length ${length} is not an integer within the ${buf.length}-byte buffer`);
  }
  return length;
}

/** True when the datagram carries version 2 and an RTCP packet type (192–223) in byte 1. */
export function isRtcp(buf: Uint8Array, length?: number): boolean {
  const len = datagramLength(buf, length);
  if (len < RTCP_HEADER_BYTES) return false;
  const b1 = buf[1]!;
  return buf[0]! >> 6 === 2 && b1 >= 192 && b1 <= 223;
}

/** True when the datagram has version 2, at least the 12-byte fixed header, and is not RTCP. Does not validate CSRC/extension/padding: use `RtpPacketView.tryParse` for that. */
export function isRtp(buf: Uint8Array, length?: number): boolean {
  const len = datagramLength(buf, length);
  return len >= RTP_HEADER_BYTES && buf[0]! >> 6 === 2 && !isRtcp(buf, len);
}
