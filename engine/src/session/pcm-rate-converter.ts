import { Downsampler16to8, Upsampler8to16 } from '../codec/index.js';

/**
 * Converts the frames a leg is asked to send to the leg's own rate (8 ↔ 16 kHz):
 * a stage may produce audio at the pair's other rate. The filters keep their
 * history between frames, so a stream converts without seams; both filters and
 * the output buffer are made on first use, and nothing is allocated per frame.
 */
export class PcmRateConverter {
  readonly #rate: number;
  readonly #frameSamples: number;
  #out: Int16Array | null = null;
  #up: Upsampler8to16 | null = null;
  #down: Downsampler16to8 | null = null;

  /** `rate` and `frameSamples`: the leg's. */
  constructor(rate: number, frameSamples: number) {
    this.#rate = rate;
    this.#frameSamples = frameSamples;
  }

  /**
   * `pcm[0..samples)` at `sampleRate` in the leg's rate, or null for a pair of rates it cannot convert.
   * The result is this converter's buffer, valid until its next call.
   */
  convert(pcm: Int16Array, samples: number, sampleRate: number): { pcm: Int16Array; samples: number } | null {
    if (sampleRate === 8000 && this.#rate === 16000) {
      this.#up ??= new Upsampler8to16();
      const out = this.#buffer();
      return { pcm: out, samples: this.#up.process(pcm, samples, out) };
    }
    if (sampleRate === 16000 && this.#rate === 8000) {
      this.#down ??= new Downsampler16to8();
      const out = this.#buffer();
      return { pcm: out, samples: this.#down.process(pcm, samples, out) };
    }
    return null;
  }

  #buffer(): Int16Array {
    this.#out ??= new Int16Array(this.#frameSamples * 2);
    return this.#out;
  }
}
