/**
 * The simulated SIP side: endpoints (what an originate to `PJSIP/<ext>` meets)
 * and the audio each phone channel says and hears.
 *
 * Behaviours, from s1/s1b/s3/s3b:
 * - answer: 180 then 200 after `answerAfterMs` (0 = 100 + 200 at once: no Ringing state);
 * - busy: 486 at once;
 * - noanswer: 180, never answers; the channel dies at the originate timeout (cause 19);
 * - unreachable: a contact that never replies (no 180); dies at the timeout too;
 * - nocontact: endpoint with no registered contact: originate answers 500 "Allocation failed".
 */
import type { AudioSource } from './media.js';
import type { CallerId } from './model.js';

export type EndpointBehaviour =
  | { readonly behaviour: 'answer'; readonly answerAfterMs?: number; readonly audio?: AudioSource }
  | { readonly behaviour: 'busy' }
  | { readonly behaviour: 'noanswer' }
  | { readonly behaviour: 'unreachable' }
  | { readonly behaviour: 'nocontact' };

export type EndpointConfig = EndpointBehaviour & {
  /** The endpoint's configured callerid (recorded: `"Seven Thousand One" <7001>`); default empty. */
  readonly callerId?: CallerId;
  /** The dialplan context of the endpoint (recorded: `from-sipp`). */
  readonly context?: string;
};

/** One piece of audio a phone heard: decoded PCM at the rate of the leg it came through. */
export interface HeardChunk {
  readonly sampleRate: number;
  readonly samples: Int16Array;
}

/** What a phone channel says (its source) and hears (a bounded recording). */
export class PhoneAudio {
  readonly #heard: HeardChunk[] = [];
  #heardSamples = 0;
  #droppedChunks = 0;

  constructor(
    public source: AudioSource | undefined,
    private readonly maxHeardSeconds: number,
  ) {}

  hear(samples: Int16Array, sampleRate: number): void {
    if (this.#heardSamples / sampleRate >= this.maxHeardSeconds) {
      this.#droppedChunks++;
      return;
    }
    this.#heard.push({ sampleRate, samples: samples.slice() });
    this.#heardSamples += samples.length;
  }

  get droppedChunks(): number {
    return this.#droppedChunks;
  }

  /** The recording reached maxHeardSeconds: what comes now is only counted as dropped. */
  get full(): boolean {
    return this.#heard.length > 0 && this.#heardSamples / (this.#heard[0]?.sampleRate ?? 8000) >= this.maxHeardSeconds;
  }

  heard(): readonly HeardChunk[] {
    return this.#heard;
  }
}

/** Zero-crossing frequency estimate of a recording (what the s1 analysis used). */
export function dominantFrequency(chunks: readonly HeardChunk[]): number {
  let crossings = 0;
  let total = 0;
  let rate = 8000;
  let prev: number | undefined;
  for (const c of chunks) {
    // Silent chunks (a late packet's gap on a busy machine) have no crossings and would pull the
    // estimate down: only chunks that carry sound count, each on its own.
    if (rms([c]) < SILENCE_RMS) {
      prev = undefined;
      continue;
    }
    rate = c.sampleRate;
    // Across a gap, the first sample starts afresh: no crossing is counted for the jump.
    prev ??= c.samples[0] ?? 0;
    for (const s of c.samples) {
      if ((prev < 0 && s >= 0) || (prev >= 0 && s < 0)) crossings++;
      prev = s;
    }
    total += c.samples.length;
  }
  return total === 0 ? 0 : (crossings / 2) * (rate / total);
}

/** Below this RMS (of 32767) a heard chunk counts as silence for dominantFrequency. */
const SILENCE_RMS = 100;

export function rms(chunks: readonly HeardChunk[]): number {
  let sum = 0;
  let n = 0;
  for (const c of chunks) {
    for (const s of c.samples) sum += s * s;
    n += c.samples.length;
  }
  return n === 0 ? 0 : Math.sqrt(sum / n);
}
