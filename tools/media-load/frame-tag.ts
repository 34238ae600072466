/**
 * A per-stream packet counter hidden in the first bytes of a G.711 payload, so
 * the generator can recognise a frame after the engine has decoded,
 * re-encoded and re-packetized it (new SSRC, sequence and timestamp).
 *
 * Each tag byte is 0xC0 | 6 bits. µ-law decode→encode is the identity for
 * every code except 0x7F (−0 re-encodes as 0xFF), and 0xC0–0xFF avoids it
 * (A-law decode→encode is the identity for all 256 codes, so the same bytes
 * serve A-law). In µ-law those codes are quiet (|x| ≤ 476 of 32767), so the
 * tag is a faint click, not a buzz. Four bytes carry a 24-bit counter; two more carry a
 * 12-bit check over (counter, stream), which rejects a concealed (faded)
 * repetition, silence, or a frame routed to the wrong stream.
 */
export const FRAME_TAG_BYTES = 6;
export const FRAME_TAG_COUNTER_MASK = 0xff_ffff;
const MARK = 0xc0;
const MARK_MASK = 0xc0;

function check(counter: number, stream: number): number {
  // A multiplicative hash: neighbouring counters and streams get unrelated checks.
  const h = Math.imul((counter ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0, 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 16)) & 0xfff;
}

/** Writes the tag for `counter` (taken mod 2^24) of stream `stream` at buf[offset..offset+6). */
export function writeFrameTag(buf: Uint8Array, offset: number, counter: number, stream: number): void {
  if (offset < 0 || offset + FRAME_TAG_BYTES > buf.length) {
    throw new RangeError(`frame tag needs ${FRAME_TAG_BYTES} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  const c = counter & FRAME_TAG_COUNTER_MASK;
  const k = check(c, stream);
  buf[offset] = MARK | ((c >>> 18) & 0x3f);
  buf[offset + 1] = MARK | ((c >>> 12) & 0x3f);
  buf[offset + 2] = MARK | ((c >>> 6) & 0x3f);
  buf[offset + 3] = MARK | (c & 0x3f);
  buf[offset + 4] = MARK | ((k >>> 6) & 0x3f);
  buf[offset + 5] = MARK | (k & 0x3f);
}

/**
 * The counter tagged at buf[offset..] for stream `stream`, or -1 when there is
 * no valid tag there (too short, not tag bytes, or a failed check).
 */
export function readFrameTag(buf: Uint8Array, offset: number, stream: number): number {
  if (offset < 0 || offset + FRAME_TAG_BYTES > buf.length) return -1;
  const b0 = buf[offset]!;
  const b1 = buf[offset + 1]!;
  const b2 = buf[offset + 2]!;
  const b3 = buf[offset + 3]!;
  const b4 = buf[offset + 4]!;
  const b5 = buf[offset + 5]!;
  if (((b0 & b1 & b2 & b3 & b4 & b5) & MARK_MASK) !== MARK) return -1;
  const c = ((b0 & 0x3f) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
  const k = ((b4 & 0x3f) << 6) | (b5 & 0x3f);
  return k === check(c, stream) ? c : -1;
}

/**
 * The same tag for L16 (slin, slin16, big-endian): each tag byte is the low
 * byte of a sample whose high byte is 0, so the tag is six samples of +192…+255
 * (−42 dBFS), inaudible under speech. L16 passes the engine bit-exact when both
 * legs share the rate, so the check still rejects concealment and misrouting.
 */
export const FRAME_TAG_L16_BYTES = 2 * FRAME_TAG_BYTES;

/** Writes the tag into the 6 samples at buf[offset..offset+12). */
export function writeFrameTagL16(buf: Uint8Array, offset: number, counter: number, stream: number): void {
  if (offset < 0 || offset + FRAME_TAG_L16_BYTES > buf.length) {
    throw new RangeError(`L16 frame tag needs ${FRAME_TAG_L16_BYTES} bytes at offset ${offset}, buffer has ${buf.length}`);
  }
  const c = counter & FRAME_TAG_COUNTER_MASK;
  const k = check(c, stream);
  buf[offset] = 0;
  buf[offset + 1] = MARK | ((c >>> 18) & 0x3f);
  buf[offset + 2] = 0;
  buf[offset + 3] = MARK | ((c >>> 12) & 0x3f);
  buf[offset + 4] = 0;
  buf[offset + 5] = MARK | ((c >>> 6) & 0x3f);
  buf[offset + 6] = 0;
  buf[offset + 7] = MARK | (c & 0x3f);
  buf[offset + 8] = 0;
  buf[offset + 9] = MARK | ((k >>> 6) & 0x3f);
  buf[offset + 10] = 0;
  buf[offset + 11] = MARK | (k & 0x3f);
}

/** The counter of an L16 tag at buf[offset..] for `stream`, or -1. */
export function readFrameTagL16(buf: Uint8Array, offset: number, stream: number): number {
  if (offset < 0 || offset + FRAME_TAG_L16_BYTES > buf.length) return -1;
  if ((buf[offset]! | buf[offset + 2]! | buf[offset + 4]! | buf[offset + 6]! | buf[offset + 8]! | buf[offset + 10]!) !== 0) return -1;
  const b0 = buf[offset + 1]!;
  const b1 = buf[offset + 3]!;
  const b2 = buf[offset + 5]!;
  const b3 = buf[offset + 7]!;
  const b4 = buf[offset + 9]!;
  const b5 = buf[offset + 11]!;
  if (((b0 & b1 & b2 & b3 & b4 & b5) & MARK_MASK) !== MARK) return -1;
  const c = ((b0 & 0x3f) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
  const k = ((b4 & 0x3f) << 6) | (b5 & 0x3f);
  return k === check(c, stream) ? c : -1;
}
