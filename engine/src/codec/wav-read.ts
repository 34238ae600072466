/**
 * Reads the format and samples of a RIFF/WAVE buffer (espeak-ng's output,
 * Google Text-to-Speech's answers). The data chunk's declared size is ignored
 * and everything after its header is taken, trimmed to whole samples: a WAV
 * written to a pipe cannot seek back to fill in sizes, and the data chunk is
 * the last one in every producer Tandem reads.
 */
export class WavReadError extends Error {
  override readonly name = 'WavReadError';
}

export interface WavContent {
  /** WAVE format tag: 1 PCM, 7 µ-law. */
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  data: Buffer;
}

export function readWav(buf: Buffer): WavContent {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new WavReadError('not a RIFF/WAVE file');
  let p = 12;
  let fmt: Omit<WavContent, 'data'> | null = null;
  while (p + 8 <= buf.length) {
    const id = buf.toString('ascii', p, p + 4);
    const size = buf.readUInt32LE(p + 4);
    if (id === 'fmt ') {
      if (p + 24 > buf.length) break;
      fmt = { format: buf.readUInt16LE(p + 8), channels: buf.readUInt16LE(p + 10), sampleRate: buf.readUInt32LE(p + 12), bitsPerSample: buf.readUInt16LE(p + 22) };
    } else if (id === 'data') {
      if (fmt === null) throw new WavReadError('data chunk before fmt chunk');
      const start = p + 8;
      const block = Math.max(1, (fmt.bitsPerSample >> 3) * fmt.channels);
      return { ...fmt, data: buf.subarray(start, start + Math.floor((buf.length - start) / block) * block) };
    }
    p += 8 + size + (size % 2);
  }
  throw new WavReadError('no data chunk');
}
