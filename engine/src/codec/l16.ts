/**
 * L16: signed 16-bit linear PCM in network byte order (big-endian, RFC 3551
 * §4.5.11), which is how Asterisk puts `slin` / `slin16` on RTP (observed for
 * slin16: a 440 Hz tone decodes cleanly only as big-endian, test/data/rtp/s5_slin16.golden.json).
 * Byte-wise on purpose: a DataView per packet would allocate, and a native
 * Int16Array view over the payload would be little-endian and need alignment.
 */
import { checkDestination, checkSource } from './bounds.js';

/**
 * Decodes `length` bytes (even) of src starting at srcOffset into dst[0..length/2).
 * Returns samples written. RangeError for an odd length, a short src or a short dst.
 */
export function decodeL16(src: Uint8Array, srcOffset: number, length: number, dst: Int16Array): number {
  checkSource(src.length, srcOffset, length, 'bytes');
  if (length % 2 !== 0) {
    throw new RangeError(`L16 payload length must be even, got ${length} bytes`);
  }
  const samples = length >> 1;
  checkDestination(dst.length, 0, samples, 'samples');
  let p = srcOffset;
  for (let i = 0; i < samples; i++) {
    // Int16Array storage wraps 0x8000..0xffff to negative values, which is the sign extension we want.
    dst[i] = (src[p]! << 8) | src[p + 1]!;
    p += 2;
  }
  return samples;
}

/**
 * Encodes samples src[0..count) big-endian into dst starting at dstOffset.
 * Returns bytes written (2 * count). RangeError if src or dst is too short.
 */
export function encodeL16(src: Int16Array, count: number, dst: Uint8Array, dstOffset: number): number {
  checkSource(src.length, 0, count, 'samples');
  const bytes = count * 2;
  checkDestination(dst.length, dstOffset, bytes, 'bytes');
  let p = dstOffset;
  for (let i = 0; i < count; i++) {
    const s = src[i]!;
    dst[p] = s >> 8;
    dst[p + 1] = s;
    p += 2;
  }
  return bytes;
}

/**
 * Little-endian L16 (host order on x86/ARM): how chan_websocket carries `slin` / `slin16`
 * (docs/asterisk-facts.md, WebSocket media: a 440 Hz tone decodes as such only little-endian).
 * Same contract as decodeL16.
 */
export function decodeL16LE(src: Uint8Array, srcOffset: number, length: number, dst: Int16Array): number {
  checkSource(src.length, srcOffset, length, 'bytes');
  if (length % 2 !== 0) {
    throw new RangeError(`L16 payload length must be even, got ${length} bytes`);
  }
  const samples = length >> 1;
  checkDestination(dst.length, 0, samples, 'samples');
  let p = srcOffset;
  for (let i = 0; i < samples; i++) {
    dst[i] = src[p]! | (src[p + 1]! << 8);
    p += 2;
  }
  return samples;
}

/** Little-endian counterpart of encodeL16; same contract. */
export function encodeL16LE(src: Int16Array, count: number, dst: Uint8Array, dstOffset: number): number {
  checkSource(src.length, 0, count, 'samples');
  const bytes = count * 2;
  checkDestination(dst.length, dstOffset, bytes, 'bytes');
  let p = dstOffset;
  for (let i = 0; i < count; i++) {
    const s = src[i]!;
    dst[p] = s;
    dst[p + 1] = s >> 8;
    p += 2;
  }
  return bytes;
}
