import type { EngineStats } from '../../../engine/src/index.js';

/** What the sampler reads (MediaEngine is one). */
export interface EngineStatsSource {
  stats(): Promise<EngineStats>;
}

export interface EngineSample {
  /** When the sample was taken (epoch ms). */
  at: number;
  stats: EngineStats;
}

/**
 * One engine stats round trip shared by everyone who wants it at about the
 * same time: a Prometheus scrape and every open console page read the same
 * sample, so watching the engine costs one request per shard per interval,
 * however many watch. A sample younger than `maxAgeMs` is reused.
 */
export class EngineSampler {
  readonly #source: EngineStatsSource;
  readonly #maxAgeMs: number;
  #last: EngineSample | null = null;
  #pending: Promise<EngineSample> | null = null;
  readonly #listeners = new Set<(sample: EngineSample) => void>();

  constructor(source: EngineStatsSource, options: { maxAgeMs?: number } = {}) {
    this.#source = source;
    this.#maxAgeMs = options.maxAgeMs ?? 500;
  }

  /** The last sample if fresh enough, else a new one (concurrent callers share it). */
  sample(now = Date.now()): Promise<EngineSample> {
    if (this.#last !== null && now - this.#last.at < this.#maxAgeMs) return Promise.resolve(this.#last);
    this.#pending ??= this.#source
      .stats()
      .then((stats) => {
        const sample = { at: Date.now(), stats };
        this.#last = sample;
        for (const listener of this.#listeners) listener(sample);
        return sample;
      })
      .finally(() => {
        this.#pending = null;
      });
    return this.#pending;
  }

  /** Told of every new sample (metrics accumulate deltas from them). */
  onSample(listener: (sample: EngineSample) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
