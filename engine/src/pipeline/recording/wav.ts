/**
 * The RIFF/WAVE header of a call recording: 16-bit PCM, any channel count, in
 * the WAVE_FORMAT_EXTENSIBLE layout (Microsoft's format for more than two
 * channels) with channel mask 0, because the channels are call legs, not
 * speaker positions.
 *
 * RIFF sizes are 32-bit: the data chunk can hold at most MAX_WAV_DATA_BYTES.
 * Past that a file would need RF64, which Tandem does not write; the recorder
 * stops at the limit instead (a 4-channel 8 kHz call reaches it after ~37 h).
 */

/** Bytes before the first sample: RIFF header (12) + fmt chunk (8 + 40) + data chunk header (8). */
export const WAV_HEADER_BYTES = 68;

/** Largest data chunk whose RIFF size (60 + data) still fits in 32 bits, rounded down to whole 4-channel frames. */
export const MAX_WAV_DATA_BYTES = Math.floor((0xffffffff - (WAV_HEADER_BYTES - 8)) / 8) * 8;

/** Sizes written while recording, so a file left by a crash still reads up to its end in tolerant readers. */
export const WAV_UNKNOWN_SIZE = 0xffffffff;

const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
// KSDATAFORMAT_SUBTYPE_PCM: 00000001-0000-0010-8000-00aa00389b71, in its on-disk byte order.
const SUBTYPE_PCM = Buffer.from([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);

export interface WavFormat {
  channels: number;
  sampleRate: number;
}

/**
 * The 68-byte header for `dataBytes` of interleaved s16le samples, or with
 * both sizes set to WAV_UNKNOWN_SIZE when `dataBytes` is null (still recording).
 */
export function wavHeader(format: WavFormat, dataBytes: number | null): Buffer {
  const { channels, sampleRate } = format;
  if (!Number.isInteger(channels) || channels < 1 || channels > 32) throw new RangeError(`bad channel count ${channels}`);
  if (dataBytes !== null && (!Number.isInteger(dataBytes) || dataBytes < 0 || dataBytes > MAX_WAV_DATA_BYTES)) {
    throw new RangeError(`WAV data size ${dataBytes} outside 0..${MAX_WAV_DATA_BYTES}`);
  }
  const blockAlign = channels * 2;
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(dataBytes === null ? WAV_UNKNOWN_SIZE : WAV_HEADER_BYTES - 8 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(40, 16);
  h.writeUInt16LE(WAVE_FORMAT_EXTENSIBLE, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34); // bits per sample (container)
  h.writeUInt16LE(22, 36); // extension size
  h.writeUInt16LE(16, 38); // valid bits per sample
  h.writeUInt32LE(0, 40); // channel mask: no speaker positions
  SUBTYPE_PCM.copy(h, 44);
  h.write('data', 60, 'ascii');
  h.writeUInt32LE(dataBytes === null ? WAV_UNKNOWN_SIZE : dataBytes, 64);
  return h;
}
