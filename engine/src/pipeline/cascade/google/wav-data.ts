/**
 * The samples inside a RIFF/WAVE answer of Google Text-to-Speech, which wraps
 * LINEAR16 (format 1, 16-bit) and MULAW (format 7, 8-bit) audio in a WAV
 * header. Only mono at the asked rate is accepted: anything else means the
 * service did not do what it was asked, and playing it would sound wrong.
 */
import { decodeUlaw } from '../../../codec/index.js';

export class WavDataError extends Error {
  override readonly name = 'WavDataError';
}

/** Mono s16 samples of a PCM or µ-law WAV at `rate`. */
export function wavSamples(buf: Buffer, rate: number): Int16Array {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new WavDataError('not a RIFF/WAVE file');
  let p = 12;
  let format = 0;
  while (p + 8 <= buf.length) {
    const id = buf.toString('ascii', p, p + 4);
    const size = buf.readUInt32LE(p + 4);
    if (id === 'fmt ') {
      if (p + 24 > buf.length) break;
      format = buf.readUInt16LE(p + 8);
      const channels = buf.readUInt16LE(p + 10);
      const sampleRate = buf.readUInt32LE(p + 12);
      const bits = buf.readUInt16LE(p + 22);
      const ok = channels === 1 && sampleRate === rate && ((format === 1 && bits === 16) || (format === 7 && bits === 8));
      if (!ok) throw new WavDataError(`need mono ${rate} Hz PCM16 or µ-law, got format ${format}, ${channels} ch, ${sampleRate} Hz, ${bits} bit`);
    } else if (id === 'data') {
      if (format === 0) throw new WavDataError('data chunk before fmt chunk');
      // A streamed WAV may carry a placeholder size: take what is there.
      const data = buf.subarray(p + 8, Math.min(buf.length, p + 8 + size));
      if (format === 7) {
        const pcm = new Int16Array(data.length);
        decodeUlaw(data, 0, data.length, pcm);
        return pcm;
      }
      const pcm = new Int16Array(data.length >> 1);
      for (let i = 0; i < pcm.length; i++) pcm[i] = data.readInt16LE(2 * i);
      return pcm;
    }
    p += 8 + size + (size % 2);
  }
  throw new WavDataError('no data chunk');
}
