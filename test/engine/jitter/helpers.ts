import type { FrameDecoder, JitterPacket } from '../../../engine/src/jitter/index.js';

export const FRAME_SAMPLES = 160;
export const FRAME_UNITS = 160; // 8 kHz, 20 ms

/** Level the tagged decoder writes into every sample after the two tag samples. */
export const TONE_LEVEL = 8000;

/**
 * A packet whose 4-byte payload carries its own sequence number, so the PCM the
 * tagged decoder writes says which frame came out of the buffer.
 */
export function packet(seq: number, ts: number, options: { ssrc?: number; marker?: boolean; level?: number } = {}): JitterPacket {
  const buffer = new Uint8Array(8);
  buffer[2] = (seq >> 8) & 0xff;
  buffer[3] = seq & 0xff;
  const level = options.level ?? TONE_LEVEL;
  buffer[4] = (level >> 8) & 0xff;
  buffer[5] = level & 0xff;
  return {
    sequenceNumber: seq & 0xffff,
    timestamp: ts >>> 0,
    ssrc: options.ssrc ?? 0x1234_5678,
    marker: options.marker ?? false,
    buffer,
    payloadOffset: 2,
    payloadLength: 4,
  };
}

/** out[0] = seq high byte, out[1] = seq low byte, every other sample = the packet's level. */
export const taggedDecoder: FrameDecoder = (src, offset, length, dst) => {
  if (length !== 4) throw new RangeError(`tagged payload must be 4 bytes, got ${length}`);
  const level = ((src[offset + 2] ?? 0) << 8) | (src[offset + 3] ?? 0);
  dst.fill(level, 0, FRAME_SAMPLES);
  dst[0] = src[offset] ?? 0;
  dst[1] = src[offset + 1] ?? 0;
  return FRAME_SAMPLES;
};

export function seqOf(pcm: Int16Array): number {
  return (((pcm[0] ?? 0) & 0xff) << 8) | ((pcm[1] ?? 0) & 0xff);
}

export function newOut(): Int16Array {
  return new Int16Array(FRAME_SAMPLES);
}
