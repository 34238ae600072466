/**
 * The samples of a Google Text-to-Speech answer, which wraps LINEAR16
 * (format 1, 16-bit) and MULAW (format 7, 8-bit) audio in a WAV header. Only
 * mono at the asked rate is accepted: anything else means the service did not
 * do what it was asked, and playing it would sound wrong.
 */
import { decodeUlaw } from '../../../codec/index.js';
import { readWav, WavReadError } from '../../../codec/wav-read.js';

/** Mono s16 samples of a PCM16 or µ-law WAV at `rate`. */
export function wavSamples(buf: Buffer, rate: number): Int16Array {
  const w = readWav(buf);
  const ok = w.channels === 1 && w.sampleRate === rate && ((w.format === 1 && w.bitsPerSample === 16) || (w.format === 7 && w.bitsPerSample === 8));
  if (!ok) throw new WavReadError(`need mono ${rate} Hz PCM16 or µ-law, got format ${w.format}, ${w.channels} ch, ${w.sampleRate} Hz, ${w.bitsPerSample} bit`);
  if (w.format === 7) {
    const pcm = new Int16Array(w.data.length);
    decodeUlaw(w.data, 0, w.data.length, pcm);
    return pcm;
  }
  const pcm = new Int16Array(w.data.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = w.data.readInt16LE(2 * i);
  return pcm;
}
