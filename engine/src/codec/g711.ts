/**
 * G.711 µ-law and A-law, bit-exact with the classic Sun Microsystems g711.c
 * (the CCITT reference code that sox, Asterisk's tables and most telephony
 * stacks derive from).
 *
 * The reference algorithms below run only at module load, to fill four tables:
 * decode is one 256-entry Int16Array lookup per byte; encode is one lookup in a
 * table indexed by the sample shifted down to the bits the law can represent
 * (14 for µ-law, 13 for A-law), because the reference encoder discards the
 * low bits first (`pcm_val >> 2` / `>> 3`) and so depends on nothing else.
 *
 * Known asymmetry: µ-law has two codes for zero (0xFF = +0, 0x7F = −0); both
 * decode to 0, and 0 encodes to 0xFF, so 0x7F does not survive a round trip.
 * Every other µ-law code, and every A-law code, does.
 */
import { checkDestination, checkSource } from './bounds.js';

const ULAW_BIAS = 0x84;
const ULAW_CLIP = 8159;
const SEG_UEND = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff] as const;
const SEG_AEND = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const;

/** First segment whose end is >= value, or 8 when value exceeds them all (g711.c `search`). */
function segment(value: number, ends: readonly number[]): number {
  for (let i = 0; i < ends.length; i++) {
    if (value <= ends[i]!) return i;
  }
  return ends.length;
}

/** Reference µ-law encoder for a sample already shifted to 14 bits (g711.c `linear2ulaw` after `>> 2`). */
function referenceUlawFrom14(pcm14: number): number {
  let value = pcm14;
  let mask: number;
  if (value < 0) {
    value = -value;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  if (value > ULAW_CLIP) value = ULAW_CLIP;
  value += ULAW_BIAS >> 2;
  const seg = segment(value, SEG_UEND);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((value >> (seg + 1)) & 0x0f)) ^ mask;
}

/** Reference A-law encoder for a sample already shifted to 13 bits (g711.c `linear2alaw` after `>> 3`). */
function referenceAlawFrom13(pcm13: number): number {
  let value = pcm13;
  let mask: number;
  if (value >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    value = -value - 1;
  }
  const seg = segment(value, SEG_AEND);
  if (seg >= 8) return 0x7f ^ mask;
  const quant = seg < 2 ? (value >> 1) & 0x0f : (value >> seg) & 0x0f;
  return ((seg << 4) | quant) ^ mask;
}

/** Reference µ-law decoder (g711.c `ulaw2linear`). */
function referenceUlawToLinear(code: number): number {
  const u = ~code & 0xff;
  let t = ((u & 0x0f) << 3) + ULAW_BIAS;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

/** Reference A-law decoder (g711.c `alaw2linear`). */
function referenceAlawToLinear(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) {
    t += 8;
  } else {
    t += 0x108;
    if (seg > 1) t <<= seg - 1;
  }
  return a & 0x80 ? t : -t;
}

const ULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
/** Indexed by `(sample >> 2) & 0x3fff`: the 14-bit two's-complement value as unsigned. */
const ULAW_ENCODE = new Uint8Array(1 << 14);
/** Indexed by `(sample >> 3) & 0x1fff`: the 13-bit two's-complement value as unsigned. */
const ALAW_ENCODE = new Uint8Array(1 << 13);

for (let code = 0; code < 256; code++) {
  ULAW_DECODE[code] = referenceUlawToLinear(code);
  ALAW_DECODE[code] = referenceAlawToLinear(code);
}
for (let i = 0; i < ULAW_ENCODE.length; i++) {
  ULAW_ENCODE[i] = referenceUlawFrom14((i << 18) >> 18);
}
for (let i = 0; i < ALAW_ENCODE.length; i++) {
  ALAW_ENCODE[i] = referenceAlawFrom13((i << 19) >> 19);
}

/** Out-of-range or fractional input to the scalar encoders is clamped/truncated to int16, not wrapped. */
function toInt16(sample: number): number {
  const s = sample | 0;
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s;
}

export function ulawToLinear(code: number): number {
  return ULAW_DECODE[code & 0xff]!;
}

/** `sample` is an int16; values outside that range are clamped. */
export function linearToUlaw(sample: number): number {
  return ULAW_ENCODE[(toInt16(sample) >> 2) & 0x3fff]!;
}

export function alawToLinear(code: number): number {
  return ALAW_DECODE[code & 0xff]!;
}

/** `sample` is an int16; values outside that range are clamped. */
export function linearToAlaw(sample: number): number {
  return ALAW_ENCODE[(toInt16(sample) >> 3) & 0x1fff]!;
}

/**
 * Decodes `length` bytes of src starting at srcOffset into dst[0..length).
 * Returns samples written. RangeError if src has fewer bytes or dst is too short.
 */
export function decodeUlaw(src: Uint8Array, srcOffset: number, length: number, dst: Int16Array): number {
  checkSource(src.length, srcOffset, length, 'bytes');
  checkDestination(dst.length, 0, length, 'samples');
  for (let i = 0; i < length; i++) {
    dst[i] = ULAW_DECODE[src[srcOffset + i]!]!;
  }
  return length;
}

export function decodeAlaw(src: Uint8Array, srcOffset: number, length: number, dst: Int16Array): number {
  checkSource(src.length, srcOffset, length, 'bytes');
  checkDestination(dst.length, 0, length, 'samples');
  for (let i = 0; i < length; i++) {
    dst[i] = ALAW_DECODE[src[srcOffset + i]!]!;
  }
  return length;
}

/**
 * Encodes samples src[0..count) into dst starting at dstOffset.
 * Returns bytes written. RangeError if src has fewer samples or dst is too short.
 */
export function encodeUlaw(src: Int16Array, count: number, dst: Uint8Array, dstOffset: number): number {
  checkSource(src.length, 0, count, 'samples');
  checkDestination(dst.length, dstOffset, count, 'bytes');
  for (let i = 0; i < count; i++) {
    dst[dstOffset + i] = ULAW_ENCODE[(src[i]! >> 2) & 0x3fff]!;
  }
  return count;
}

export function encodeAlaw(src: Int16Array, count: number, dst: Uint8Array, dstOffset: number): number {
  checkSource(src.length, 0, count, 'samples');
  checkDestination(dst.length, dstOffset, count, 'bytes');
  for (let i = 0; i < count; i++) {
    dst[dstOffset + i] = ALAW_ENCODE[(src[i]! >> 3) & 0x1fff]!;
  }
  return count;
}
