/**
 * The public handle on one audio stream's VAD (see stream-core.ts for how chunks are gated, queued
 * and decided). The wrapper owns the listeners; the core, reached by the engine through
 * streamCore(), does the work.
 */
import { InvalidStateError } from '../../../../common/src/errors.js';
import { TypedEmitter } from '../../../../common/src/typed-emitter.js';
import type { VadSampleRate } from './model.js';
import type { VadStreamSettings } from './options.js';
import { StreamCore } from './stream-core.js';
import type { StreamHost, VadStreamEvents, VadStreamState, VadStreamStats } from './vad-types.js';

// Outside code imports these from here (the module they grew up in).
export type { QueuedChunk, StreamHost, VadEvent, VadSpeechEnd, VadSpeechStart, VadStreamError, VadStreamEvents, VadStreamState, VadStreamStats } from './vad-types.js';
export { StreamCore } from './stream-core.js';

const cores = new WeakMap<VadStream, StreamCore>();

/** The engine's handle on a stream's internals (not part of the public API). */
export function streamCore(stream: VadStream): StreamCore {
  const core = cores.get(stream);
  if (!core) throw new InvalidStateError('not a VadStream of this module');
  return core;
}

export class VadStream extends TypedEmitter<VadStreamEvents> {
  readonly id: string;
  readonly #core: StreamCore;

  /** Streams come from VadEngine.openStream(). */
  constructor(id: string, settings: VadStreamSettings, host: StreamHost) {
    super();
    this.id = id;
    this.#core = new StreamCore(id, settings, host, (event) => this.safeEmit('vad', event), (error) => this.safeEmit('error', error));
    cores.set(this, this.#core);
    if (settings.onEvent) this.on('vad', settings.onEvent);
    if (settings.sampleRate !== undefined) this.#core.setRate(settings.sampleRate);
  }

  /**
   * Feeds one frame: `samples` samples of `pcm` (copied; the caller may reuse
   * it) at 8000 or 16000 Hz. Ignored after close() or an error.
   */
  push(pcm: Int16Array, samples: number, sampleRate: VadSampleRate): void {
    this.#core.push(pcm, samples, sampleRate);
  }

  get state(): VadStreamState {
    return this.#core.status;
  }

  /** Whether a reported utterance is in progress. */
  get inSpeech(): boolean {
    return this.#core.inSpeech;
  }

  stats(): VadStreamStats {
    return this.#core.stats();
  }

  /** Stops detection; no event fires afterwards, a chunk in flight is ignored when it returns. Idempotent. */
  close(): void {
    if (this.#core.close()) this.removeAllListeners();
  }
}
