/**
 * Brings a recording channel's audio to the file's rate (8000 <-> 16000 Hz). Each channel has its own
 * resamplers because they carry filter state from one frame to the next; the output goes into one
 * shared scratch buffer, valid until the next call.
 */
import { Downsampler16to8, Upsampler8to16 } from '../../codec/index.js';

interface ChannelResamplers {
  up: Upsampler8to16 | null;
  down: Downsampler16to8 | null;
}

export class ChannelRateConverter {
  readonly #fileRate: 8000 | 16000;
  readonly #resamplers: ChannelResamplers[] = [];
  #scratch = new Int16Array(640);

  constructor(fileRate: 8000 | 16000, channels: number) {
    this.#fileRate = fileRate;
    for (let c = 0; c < channels; c++) this.#resamplers.push({ up: null, down: null });
  }

  /** Samples at the file's rate that `samples` at `rate` become; -1 for an unsupported rate. */
  convertedLength(samples: number, rate: number): number {
    if (samples <= 0) return 0;
    if (rate === this.#fileRate) return samples;
    if (rate === 8000 && this.#fileRate === 16000) return 2 * samples;
    if (rate === 16000 && this.#fileRate === 8000) return samples >> 1;
    return -1;
  }

  /** Converts into the scratch buffer with channel c's own (stateful) resampler. */
  resample(c: number, pcm: Int16Array, samples: number, rate: number): Int16Array {
    const r = this.#resamplers[c]!;
    if (rate === 8000) {
      if (this.#scratch.length < 2 * samples) this.#scratch = new Int16Array(2 * samples);
      r.up ??= new Upsampler8to16();
      r.up.process(pcm, samples, this.#scratch);
    } else {
      const even = samples & ~1;
      if (this.#scratch.length < even >> 1) this.#scratch = new Int16Array(even >> 1);
      r.down ??= new Downsampler16to8();
      r.down.process(pcm, even, this.#scratch);
    }
    return this.#scratch;
  }
}
