import { errorMessage } from '../../../common/src/errors.js';
import type { Logger } from '../../../common/src/logger.js';
import type { VadSettings } from '../pipeline/translation/config.js';
import type { VadOpener } from '../pipeline/translation/translating-stage.js';
import { VadEngine, type VadEngineOptions, type VadEngineStats } from '../pipeline/vad/index.js';

/**
 * The worker's Silero VAD, loaded on the first translated pair: workers that
 * only relay never start the model's thread or load onnxruntime. One engine per worker batches every
 * stream's chunks into one inference (see pipeline/vad).
 */
export class ShardVad {
  readonly #log: Logger;
  readonly #options: VadEngineOptions;
  #engine: Promise<VadEngine> | null = null;
  /** The engine once loaded (for stats, which must not wait). */
  #loaded: VadEngine | null = null;
  #closed = false;

  constructor(log: Logger, options: VadEngineOptions = {}) {
    this.#log = log;
    this.#options = options;
  }

  /** Resolves to the opener translated pairs use; rejects (with the model's error) if Silero cannot load. */
  async opener(): Promise<(settings: VadSettings) => VadOpener> {
    this.#engine ??= this.#load();
    const engine = await this.#engine;
    return (settings) => (sampleRate, onDecision, streamId) =>
      engine.openStream({
        sampleRate,
        id: streamId,
        threshold: settings.threshold,
        minSilenceMs: settings.minSilenceMs,
        onEvent: (event) => {
          if (event.type === 'speech_start') onDecision({ type: 'speech_start', startMs: event.startMs });
          else if (event.type === 'speech_end') onDecision({ type: 'speech_end', startMs: event.startMs, endMs: event.endMs, decidedMs: event.decidedMs });
        },
      });
  }

  /** The VAD's counters (batches, inferences, chunks skipped by the gate, dropped chunks); null before the first translated pair. */
  stats(): VadEngineStats | null {
    return this.#loaded?.stats() ?? null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#loaded = null;
    const engine = this.#engine;
    this.#engine = null;
    void engine?.then(
      (e) => e.close(),
      () => undefined,
    );
  }

  async #load(): Promise<VadEngine> {
    try {
      const engine = await VadEngine.create(this.#options);
      if (!this.#closed) this.#loaded = engine;
      this.#log.info('Silero VAD loaded');
      return engine;
    } catch (err) {
      this.#engine = null; // the next translated pair tries again
      this.#log.error({ err: errorMessage(err) }, 'Silero VAD failed to load');
      throw err;
    }
  }
}
