/**
 * Turns Silero's per-chunk speech probabilities into utterances, with the
 * hysteresis of Silero's reference VADIterator: speech starts on the first
 * chunk at or above `threshold`, and ends once the probability has stayed
 * below `negThreshold` for `minSilenceSamples` (a dip that recovers above
 * `threshold` cancels the pending end). Start and end are padded by `padSamples`.
 *
 * Unlike VADIterator (which has no minimum) a segment must last
 * `minSpeechSamples` (from its first speech chunk to its first silent chunk)
 * before `start` is reported, as get_speech_timestamps does offline; clicks
 * shorter than that never produce events. The start is therefore reported up
 * to minSpeech late, but its timestamp is where the speech really began.
 *
 * Pure and synchronous; positions are sample indices on the stream's timeline.
 */
export interface SegmenterSettings {
  threshold: number;
  negThreshold: number;
  minSpeechSamples: number;
  minSilenceSamples: number;
  padSamples: number;
}

export type SegmentEvent =
  | { type: 'start'; startSample: number }
  /** decidedSample: the audio the decision took (the end of the chunk that completed the silence). */
  | { type: 'end'; startSample: number; endSample: number; decidedSample: number };

export class SpeechSegmenter {
  readonly #s: SegmenterSettings;
  #triggered = false;
  #confirmed = false;
  /** First sample of the chunk that triggered the segment (unpadded). */
  #rawStart = 0;
  /** Padded start, as reported. */
  #start = 0;
  /** First sample of the silence that may end the segment, or -1. */
  #tempEnd = -1;
  /** End of the previous segment: padding never reaches back before it. */
  #prevEnd = 0;

  constructor(settings: SegmenterSettings) {
    this.#s = { ...settings };
  }

  /** Whether a reported utterance is in progress (started, not yet ended). */
  get inSpeech(): boolean {
    return this.#triggered && this.#confirmed;
  }

  /** Whether a segment is open, reported or not: the next probabilities may start, confirm or end it. */
  get active(): boolean {
    return this.#triggered;
  }

  /**
   * Whether the chunk [chunkStart, chunkEnd) could decide an event, given the right probability: confirm a
   * start, or complete the silence that ends a segment. The VAD engine runs such a chunk without waiting for
   * a batch to fill, because someone is waiting on that decision.
   */
  canDecide(chunkStart: number, chunkEnd: number): boolean {
    const s = this.#s;
    if (!this.#triggered) return chunkEnd - chunkStart >= s.minSpeechSamples;
    if (!this.#confirmed && chunkEnd - this.#rawStart >= s.minSpeechSamples) return true;
    return chunkEnd - (this.#tempEnd >= 0 ? this.#tempEnd : chunkStart) >= s.minSilenceSamples;
  }

  /** Feeds the probability of the chunk [chunkStart, chunkEnd); events it decides go to `emit`. */
  push(probability: number, chunkStart: number, chunkEnd: number, emit: (event: SegmentEvent) => void): void {
    const s = this.#s;
    if (probability >= s.threshold) {
      this.#tempEnd = -1;
      if (!this.#triggered) {
        this.#triggered = true;
        this.#confirmed = false;
        this.#rawStart = chunkStart;
        this.#start = Math.max(this.#prevEnd, chunkStart - s.padSamples, 0);
      }
    } else if (probability < s.negThreshold && this.#triggered) {
      if (this.#tempEnd < 0) this.#tempEnd = chunkStart;
      if (chunkEnd - this.#tempEnd >= s.minSilenceSamples) {
        const tempEnd = this.#tempEnd;
        const endSample = Math.min(tempEnd + s.padSamples, chunkEnd);
        const long = tempEnd - this.#rawStart >= s.minSpeechSamples;
        if (!this.#confirmed && long) emit({ type: 'start', startSample: this.#start });
        if (this.#confirmed || long) {
          emit({ type: 'end', startSample: this.#start, endSample, decidedSample: chunkEnd });
          this.#prevEnd = endSample;
        }
        this.#triggered = false;
        this.#confirmed = false;
        this.#tempEnd = -1;
        return;
      }
    }
    if (this.#triggered && !this.#confirmed && this.#tempEnd < 0 && chunkEnd - this.#rawStart >= s.minSpeechSamples) {
      this.#confirmed = true;
      emit({ type: 'start', startSample: this.#start });
    }
  }

  /**
   * Ends whatever is in progress at `atSample` (the stream is being reset):
   * a reported utterance ends there, an unconfirmed one is dropped. The
   * timeline restarts, so the next segment may begin anywhere from 0.
   */
  reset(atSample: number, emit: (event: SegmentEvent) => void): void {
    if (this.#triggered && this.#confirmed) {
      const end = this.#tempEnd >= 0 ? Math.min(this.#tempEnd + this.#s.padSamples, atSample) : atSample;
      emit({ type: 'end', startSample: this.#start, endSample: Math.max(end, this.#start), decidedSample: atSample });
    }
    this.#triggered = false;
    this.#confirmed = false;
    this.#tempEnd = -1;
    this.#prevEnd = 0;
  }
}
