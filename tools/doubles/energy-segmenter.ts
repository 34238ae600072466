/**
 * How the recognizer doubles "hear" speech: they recognize nothing, they find
 * utterances by energy. Audio bytes (µ-law or s16le) are decoded, cut into
 * 20 ms chunks, and each chunk's RMS is handed on with the stream's clock, so
 * a double only decides what speech and silence mean for its protocol.
 */
import { decodeUlaw } from '../../engine/src/codec/index.js';

export class EnergySegmenter {
  readonly #encoding: 'mulaw' | 'linear16';
  readonly #rate: number;
  readonly #chunk: number;
  readonly #onChunk: (rms: number, nowMs: number) => void;
  #pcm = new Int16Array(0);
  #samples = 0;
  #sum = 0;
  #count = 0;

  constructor(encoding: 'mulaw' | 'linear16', rate: number, onChunk: (rms: number, nowMs: number) => void) {
    this.#encoding = encoding;
    this.#rate = rate;
    this.#chunk = rate / 50;
    this.#onChunk = onChunk;
  }

  /** Milliseconds of audio seen so far. */
  get nowMs(): number {
    return (this.#samples * 1000) / this.#rate;
  }

  feed(buf: Buffer): void {
    const n = this.#encoding === 'mulaw' ? buf.length : buf.length >> 1;
    if (this.#pcm.length < n) this.#pcm = new Int16Array(n);
    if (this.#encoding === 'mulaw') decodeUlaw(buf, 0, n, this.#pcm);
    else for (let i = 0; i < n; i++) this.#pcm[i] = buf.readInt16LE(2 * i);
    for (let i = 0; i < n; i++) {
      const s = this.#pcm[i]!;
      this.#sum += s * s;
      this.#samples++;
      if (++this.#count === this.#chunk) {
        const rms = Math.sqrt(this.#sum / this.#chunk);
        this.#sum = 0;
        this.#count = 0;
        this.#onChunk(rms, this.nowMs);
      }
    }
  }
}
