/**
 * An energy (RMS) utterance detector: speech starts after `minSpeechMs` of
 * consecutive frames above the threshold and ends after `hangoverMs` below it.
 * It is NOT voice activity detection in the Silero sense (noise above the
 * threshold is "speech" to it); it exists so the reference service can find
 * utterance boundaries honestly without a model. Pure and synchronous.
 */
export interface EnergyDetectorOptions {
  sampleRate: number;
  /** RMS on the int16 scale; 500 ≈ −36 dBFS. */
  thresholdRms?: number;
  frameMs?: number;
  minSpeechMs?: number;
  hangoverMs?: number;
}

export interface Utterance {
  /** Times in ms of audio received since the stream began. */
  startMs: number;
  endMs: number;
}

export class EnergyUtteranceDetector {
  readonly #frameSamples: number;
  readonly #frameMs: number;
  readonly #threshold: number;
  readonly #minSpeechFrames: number;
  readonly #hangoverFrames: number;
  #acc = 0; // sum of squares of the frame in progress
  #accCount = 0;
  #frames = 0; // whole frames seen
  #loudRun = 0;
  #quietRun = 0;
  #inSpeech = false;
  #startFrame = 0;
  #lastLoudFrame = 0;

  constructor(options: EnergyDetectorOptions) {
    const frameMs = options.frameMs ?? 20;
    this.#frameMs = frameMs;
    this.#frameSamples = Math.round((options.sampleRate * frameMs) / 1000);
    if (this.#frameSamples <= 0) throw new RangeError(`frame of ${frameMs} ms at ${options.sampleRate} Hz is empty`);
    this.#threshold = options.thresholdRms ?? 500;
    this.#minSpeechFrames = Math.max(1, Math.round((options.minSpeechMs ?? 60) / frameMs));
    this.#hangoverFrames = Math.max(1, Math.round((options.hangoverMs ?? 300) / frameMs));
  }

  get inSpeech(): boolean {
    return this.#inSpeech;
  }

  /** Feeds samples; calls onEnd for each utterance that ended inside them. */
  push(pcm: Int16Array, count: number, onEnd: (u: Utterance) => void): void {
    const limit = this.#threshold * this.#threshold;
    for (let i = 0; i < count; i++) {
      const s = pcm[i]!;
      this.#acc += s * s;
      if (++this.#accCount < this.#frameSamples) continue;
      const loud = this.#acc / this.#accCount >= limit;
      this.#acc = 0;
      this.#accCount = 0;
      this.#frame(loud, onEnd);
    }
  }

  /** Ends an utterance in progress (the stream stopped). */
  finish(onEnd: (u: Utterance) => void): void {
    if (this.#inSpeech) {
      this.#inSpeech = false;
      onEnd(this.#utterance());
    }
  }

  #frame(loud: boolean, onEnd: (u: Utterance) => void): void {
    const index = this.#frames++;
    if (loud) {
      this.#loudRun++;
      this.#quietRun = 0;
      this.#lastLoudFrame = index;
      if (!this.#inSpeech && this.#loudRun >= this.#minSpeechFrames) {
        this.#inSpeech = true;
        this.#startFrame = index - this.#loudRun + 1;
      }
    } else {
      this.#loudRun = 0;
      if (this.#inSpeech && ++this.#quietRun >= this.#hangoverFrames) {
        this.#inSpeech = false;
        this.#quietRun = 0;
        onEnd(this.#utterance());
      }
    }
  }

  #utterance(): Utterance {
    return { startMs: this.#startFrame * this.#frameMs, endMs: (this.#lastLoudFrame + 1) * this.#frameMs };
  }
}
