/**
 * Packet-loss concealment by repeat-and-fade: the last decoded frame is played
 * again under a gain that falls linearly, sample by sample, from 1 to 0 across
 * `fadeFrames` frames, then output is exact silence. The ramp is continuous
 * across frame boundaries, so the fade itself adds no click; ending at zero lets
 * the silence that follows join without a step.
 */
export type ConcealResult = 'concealed' | 'silence';

export class Concealer {
  readonly #frameSamples: number;
  readonly #fadeFrames: number;
  readonly #last: Int16Array;
  #hasLast = false;
  /** Concealed frames since the last real one. */
  #index = 0;

  constructor(frameSamples: number, fadeFrames: number) {
    this.#frameSamples = frameSamples;
    this.#fadeFrames = fadeFrames;
    this.#last = new Int16Array(frameSamples);
  }

  /** Remembers a frame just decoded into `pcm`, and ends any fade in progress. */
  remember(pcm: Int16Array): void {
    if (pcm.length === this.#frameSamples) {
      this.#last.set(pcm); // a memcpy; the common case (out sized to one frame)
    } else {
      const last = this.#last;
      for (let i = 0; i < this.#frameSamples; i++) last[i] = pcm[i] ?? 0;
    }
    this.#hasLast = true;
    this.#index = 0;
  }

  /** Writes the next concealment frame into `out[0..frameSamples)`. */
  conceal(out: Int16Array): ConcealResult {
    const n = this.#frameSamples;
    if (!this.#hasLast || this.#index >= this.#fadeFrames) {
      out.fill(0, 0, n);
      return 'silence';
    }
    const total = this.#fadeFrames * n;
    const start = this.#index * n;
    const last = this.#last;
    for (let i = 0; i < n; i++) {
      // Gain goes from 1 at the first concealed sample to 0 just after the last one.
      out[i] = Math.round(((last[i] ?? 0) * (total - start - i)) / total);
    }
    this.#index++;
    return 'concealed';
  }

  /** Forgets the last frame (new stream): concealment before the next real frame is silence. */
  forget(): void {
    this.#hasLast = false;
    this.#index = 0;
  }
}
