/**
 * How long the cascade's doubles take to answer, as the real services would
 * (issue 14: a load run against doubles that answer at once measures Tandem
 * with an unrealistically quiet provider). A profile gives each delayed answer
 * a range; every answer draws its own delay from it with a seeded random, so a
 * run is repeatable and the delays spread like a service's, never a constant.
 * The doubles apply the delays where the protocol shows them (Deepgram's final
 * `Results`, DeepL's HTTP response, ElevenLabs' first audio chunk and the pace
 * of the rest); Tandem's code never waits on purpose. Where the figures come
 * from: docs/cascade.md, "Realistic answer delays".
 */
import { seededRandom } from './seeded-random.js';

export type DelayProfileName = 'none' | 'realistic';
export const DELAY_PROFILE_NAMES: readonly DelayProfileName[] = ['none', 'realistic'];

/** Uniform in [minMs, maxMs]. */
export interface DelayRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/**
 * The answers a profile delays. deepgramFinal: the final `Results` (and the `UtteranceEnd` after it), from the
 * moment the double decided the utterance is over (Finalize, or its endpointing silence). deeplResponse: the HTTP
 * response, from the request's last byte. elevenlabsFirstAudio: the first audio chunk, from the text that asked for
 * generation (`flush`, or the end of input). elevenlabsChunkGap: each later 100 ms chunk, from the one before.
 */
export type DelayedAnswer = 'deepgramFinal' | 'deeplResponse' | 'elevenlabsFirstAudio' | 'elevenlabsChunkGap';
export const DELAYED_ANSWERS: readonly DelayedAnswer[] = ['deepgramFinal', 'deeplResponse', 'elevenlabsFirstAudio', 'elevenlabsChunkGap'];

export type DelayProfile = Readonly<Record<DelayedAnswer, DelayRange>>;

const AT_ONCE: DelayRange = { minMs: 0, maxMs: 0 };

export const DELAY_PROFILES: Readonly<Record<DelayProfileName, DelayProfile>> = {
  /** The doubles answer at once (the figures measured before the profiles existed). */
  none: { deepgramFinal: AT_ONCE, deeplResponse: AT_ONCE, elevenlabsFirstAudio: AT_ONCE, elevenlabsChunkGap: AT_ONCE },
  /** Assumptions from the vendors' public latency statements (docs/cascade.md has the table and the sources). */
  realistic: {
    deepgramFinal: { minMs: 200, maxMs: 400 },
    deeplResponse: { minMs: 100, maxMs: 300 },
    elevenlabsFirstAudio: { minMs: 250, maxMs: 400 },
    // 100 ms of audio every 30–70 ms: generation at 1.4–3.3× real time, so playback never waits for the stream.
    elevenlabsChunkGap: { minMs: 30, maxMs: 70 },
  },
};

export const DEFAULT_DELAY_SEED = 1;

/** The clock the delayed answers run on: real timers, or a test's that fires them by hand. */
export interface AnswerTimers {
  set(fire: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const REAL_TIMERS: AnswerTimers = {
  set: (fire, ms) => setTimeout(fire, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What a double drew for one kind of answer (snake_case: it goes into the load report as is). */
export interface PlannedDelays {
  count: number;
  min_ms: number | null;
  max_ms: number | null;
  mean_ms: number | null;
}

export interface AnswerDelaysStats {
  profile: DelayProfileName;
  seed: number;
  planned: Partial<Record<DelayedAnswer, PlannedDelays>>;
}

export interface AnswerDelaysOptions {
  profile?: DelayProfileName;
  seed?: number;
  timers?: AnswerTimers;
}

/**
 * One double's delays: each answer's delay drawn from the profile's range by a seeded random, and a tally of what
 * was drawn (count, min, max, mean: bounded, whatever the run's length) for the report and the tests.
 */
export class AnswerDelays {
  readonly profile: DelayProfileName;
  readonly seed: number;
  readonly timers: AnswerTimers;
  readonly #ranges: DelayProfile;
  readonly #random: () => number;
  readonly #drawn = new Map<DelayedAnswer, { count: number; sum: number; min: number; max: number }>();

  constructor(options: AnswerDelaysOptions = {}) {
    this.profile = options.profile ?? 'none';
    this.seed = options.seed ?? DEFAULT_DELAY_SEED;
    this.timers = options.timers ?? REAL_TIMERS;
    this.#ranges = DELAY_PROFILES[this.profile];
    this.#random = seededRandom(this.seed);
  }

  /** The range `answer` is drawn from. */
  range(answer: DelayedAnswer): DelayRange {
    return this.#ranges[answer];
  }

  /** The delay of the next `answer`, whole milliseconds in the profile's range (0 for profile none). */
  plan(answer: DelayedAnswer): number {
    const { minMs, maxMs } = this.#ranges[answer];
    const ms = maxMs <= minMs ? minMs : Math.round(minMs + this.#random() * (maxMs - minMs));
    const d = this.#drawn.get(answer);
    if (d === undefined) this.#drawn.set(answer, { count: 1, sum: ms, min: ms, max: ms });
    else {
      d.count++;
      d.sum += ms;
      d.min = Math.min(d.min, ms);
      d.max = Math.max(d.max, ms);
    }
    return ms;
  }

  stats(): AnswerDelaysStats {
    const planned: AnswerDelaysStats['planned'] = {};
    for (const [answer, d] of this.#drawn) planned[answer] = { count: d.count, min_ms: d.min, max_ms: d.max, mean_ms: Math.round((d.sum / d.count) * 10) / 10 };
    return { profile: this.profile, seed: this.seed, planned };
  }
}

/**
 * One connection's answers, in order: each goes out its own delay after the one before it was sent (or after it
 * was queued, when nothing was waiting) — a service answers a connection's requests one after another, so an
 * interim result never overtakes the final before it. A zero delay with nothing waiting sends at once, so profile
 * none behaves exactly as the doubles did before delays existed. close() drops what waits and clears its timer.
 */
export class AnswerQueue {
  readonly #timers: AnswerTimers;
  readonly #waiting: Array<{ delayMs: number; send: () => void }> = [];
  #timer: unknown = null;
  #closed = false;

  constructor(timers: AnswerTimers) {
    this.#timers = timers;
  }

  /** Answers queued and not sent yet. */
  get pending(): number {
    return this.#waiting.length;
  }

  push(delayMs: number, send: () => void): void {
    if (this.#closed) return;
    this.#waiting.push({ delayMs, send });
    this.#drain();
  }

  close(): void {
    this.#closed = true;
    this.#waiting.length = 0;
    if (this.#timer !== null) this.#timers.clear(this.#timer);
    this.#timer = null;
  }

  /** Sends every answer that is due; arms the timer for the first that is not. */
  #drain(): void {
    while (!this.#closed && this.#timer === null && this.#waiting.length > 0) {
      const head = this.#waiting[0]!;
      if (head.delayMs > 0) {
        this.#timer = this.#timers.set(this.#fire, head.delayMs);
        return;
      }
      this.#waiting.shift();
      head.send();
    }
  }

  readonly #fire = (): void => {
    this.#timer = null;
    const head = this.#waiting.shift();
    // A send may close the queue (a fault ends the socket): #drain checks.
    head?.send();
    this.#drain();
  };
}
