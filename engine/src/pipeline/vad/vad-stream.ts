/**
 * One audio stream's side of the VAD: `push()` copies 20 ms frames into
 * model-size chunks (32 ms: 256 samples at 8 kHz, 512 at 16 kHz, each with the
 * reference implementation's context of the previous 32/64 samples) and queues
 * them for the engine's next batch; results come back through the engine and
 * drive the hysteresis (segmenter.ts), which emits utterance events.
 *
 * push() never waits and does O(frame) work: a copy, a sum of squares and, at
 * most once per 32 ms, moving a chunk into the queue. The queue is bounded;
 * when inference falls behind, the oldest chunks are dropped and counted. The
 * stream keeps its native rate (Silero runs 8 kHz and 16 kHz directly); a
 * change of rate restarts the model state while the timeline continues.
 *
 * Listeners run from the engine's result handler, or from inside push() when
 * the energy gate decides a chunk without the model.
 */
import { performance } from 'node:perf_hooks';
import { InvalidStateError } from '../../common/errors.js';
import { logger, type Logger } from '../../common/logger.js';
import { TypedEmitter } from '../../common/typed-emitter.js';
import { VAD_STATE_SIZE, isVadSampleRate, vadGeometry, type VadGeometry, type VadSampleRate } from './model.js';
import type { VadStreamSettings } from './options.js';
import { SpeechSegmenter, type SegmentEvent } from './segmenter.js';

export interface VadSpeechStart {
  type: 'speech_start';
  /** On the stream's audio timeline: ms of audio pushed before the utterance began (padding included). */
  startMs: number;
  /** performance.now() when the event was decided. */
  detectedAt: number;
}

export interface VadSpeechEnd {
  type: 'speech_end';
  startMs: number;
  endMs: number;
  /** On the audio timeline: how much audio the decision needed (endMs plus the silence that confirmed it, to a whole window). */
  decidedMs: number;
  detectedAt: number;
}

export type VadEvent = VadSpeechStart | VadSpeechEnd;

export interface VadStreamError {
  type: 'error';
  message: string;
  detectedAt: number;
}

export type VadStreamEvents = {
  vad: [event: VadEvent];
  /** The model failed on this stream's audio; the stream stopped detecting (state 'error'). */
  error: [error: VadStreamError];
  listenererror: [event: string, error: unknown];
};

export type VadStreamState = 'active' | 'error' | 'closed';

export interface VadStreamStats {
  state: VadStreamState;
  /** 0 until the first push. */
  sampleRate: number;
  /** Audio pushed so far, in ms. */
  audioMs: number;
  chunks: number;
  inferences: number;
  skippedByGate: number;
  droppedChunks: number;
  queuedChunks: number;
  /** Failed model runs this stream's chunk was part of. */
  errors: number;
  utterances: number;
  inSpeech: boolean;
}

/** A chunk waiting for (or in) inference. */
export interface QueuedChunk {
  /** context + window floats; owned by the stream, recycled after use. */
  input: Float32Array;
  /** First sample of the window on the stream's timeline (current rate). */
  start: number;
  /** Below the energy gate: decided as probability 0 without the model. */
  gated: boolean;
}

/** What a stream needs from its engine. */
export interface StreamHost {
  /** The stream has a chunk for the model and none in flight. */
  ready(core: StreamCore): void;
  /** The stream will never have work again (closed or failed). */
  detach(core: StreamCore): void;
  countGated(): void;
  countDropped(): void;
}

const log = logger('pipeline.vad');
/** int16 → [-1, 1): a power of two, so the same floats as dividing by 32768. */
const INV_FULL_SCALE = 1 / 32768;
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

export class StreamCore {
  readonly id: string;
  readonly #settings: VadStreamSettings;
  readonly #host: StreamHost;
  readonly #log: Logger;
  readonly #emitEvent: (event: VadEvent) => void;
  readonly #emitError: (error: VadStreamError) => void;
  #segmenter: SpeechSegmenter;
  /** Sum of squares (int16 scale) below which a chunk is gated, per sample; 0 = no gate. */
  readonly #gateMeanSquare: number;

  status: VadStreamState = 'active';
  /** A chunk of this stream is in the batch being run. */
  inFlight = false;
  /** The last batch holding this stream failed: run it alone until it succeeds or fails alone. */
  isolate = false;
  /** Bumped when the rate changes: results of older chunks are discarded. */
  generation = 0;
  rate: VadSampleRate | 0 = 0;
  geometry: VadGeometry | null = null;
  /** Recurrent model state, [2][128]. */
  readonly modelState = new Float32Array(VAD_STATE_SIZE);

  #queue: QueuedChunk[] = [];
  #free: Float32Array[] = [];
  #partial: Float32Array | null = null;
  #fill = 0;
  #sumSquares = 0;
  /** Timeline sample where the chunk being filled starts (current rate). */
  #chunkStart = 0;
  /** Samples pushed at the current rate. */
  #samples = 0;
  /** Timeline ms before the current rate began. */
  #baseMs = 0;
  #draining = false;
  #dropBurst = 0;
  readonly #stats = { chunks: 0, inferences: 0, skippedByGate: 0, droppedChunks: 0, errors: 0, utterances: 0 };

  constructor(id: string, settings: VadStreamSettings, host: StreamHost, emitEvent: (e: VadEvent) => void, emitError: (e: VadStreamError) => void) {
    this.id = id;
    this.#settings = settings;
    this.#host = host;
    this.#emitEvent = emitEvent;
    this.#emitError = emitError;
    this.#log = log.child({ stream: id });
    const gateRms = settings.energyGateDbfs < 0 ? 32768 * 10 ** (settings.energyGateDbfs / 20) : 0;
    this.#gateMeanSquare = gateRms * gateRms;
    // Segmenter positions are samples; it is rebuilt for the rate on the first push.
    this.#segmenter = new SpeechSegmenter(this.#segmenterSettings(16000));
  }

  get inSpeech(): boolean {
    return this.status === 'active' && this.#segmenter.inSpeech;
  }

  stats(): VadStreamStats {
    return {
      state: this.status,
      sampleRate: this.rate,
      audioMs: this.#ms(this.#samples),
      ...this.#stats,
      queuedChunks: this.#queue.length,
      inSpeech: this.inSpeech,
    };
  }

  get queuedChunks(): number {
    return this.#queue.length;
  }

  /** The next chunk for the model could decide a speech start or end (SpeechSegmenter.canDecide). */
  get decisive(): boolean {
    const head = this.#queue[0];
    return head !== undefined && this.geometry !== null && !head.gated && this.#segmenter.canDecide(head.start, head.start + this.geometry.window);
  }

  push(pcm: Int16Array, samples: number, sampleRate: VadSampleRate): void {
    if (this.status !== 'active') return;
    if (!Number.isInteger(samples) || samples < 0 || samples > pcm.length) {
      throw new RangeError(`samples ${samples} is outside a frame of ${pcm.length}`);
    }
    if (sampleRate !== this.rate) this.setRate(sampleRate);
    const g = this.geometry!;
    const generation = this.generation;
    let i = 0;
    while (i < samples) {
      const partial = this.#partial!;
      const n = Math.min(samples - i, g.window - this.#fill);
      let acc = this.#sumSquares;
      let dst = g.context + this.#fill;
      for (let k = 0; k < n; k++) {
        const s = pcm[i + k]!;
        acc += s * s;
        partial[dst++] = s * INV_FULL_SCALE;
      }
      this.#sumSquares = acc;
      this.#fill += n;
      this.#samples += n;
      i += n;
      if (this.#fill === g.window) {
        this.#completeChunk(g);
        // A listener run from the gate's decision may have closed the stream, or pushed at another rate.
        if (this.status !== 'active' || this.generation !== generation) return;
      }
    }
  }

  /** Engine: the next chunk for the model, or null (nothing ready). Marks the stream in flight. */
  take(): QueuedChunk | null {
    if (this.status !== 'active' || this.inFlight) return null;
    this.#drainGated();
    if (this.status !== 'active') return null;
    const chunk = this.#queue.shift();
    if (!chunk) return null;
    this.inFlight = true;
    return chunk;
  }

  /** Engine: the model's answer for `chunk`; the new state is read from `state` at this stream's row. */
  accept(chunk: QueuedChunk, generation: number, probability: number, state: Float32Array, row: number, size: number): void {
    if (!this.#returned(generation, false)) return;
    this.isolate = false;
    this.modelState.set(state.subarray(row * 128, row * 128 + 128), 0);
    this.modelState.set(state.subarray((size + row) * 128, (size + row) * 128 + 128), 128);
    this.#stats.inferences++;
    this.#recycle(chunk);
    this.#decide(probability, chunk.start);
    this.#afterWork();
  }

  /** Engine: the batch holding `chunk` failed; it goes back to the head of the queue to be retried alone. */
  retry(chunk: QueuedChunk, generation: number): void {
    if (!this.#returned(generation, true)) return;
    this.isolate = true;
    this.#queue.unshift(chunk);
    this.#host.ready(this);
  }

  /** Engine: the model failed on this stream alone; the stream stops detecting. */
  fail(generation: number, message: string): void {
    if (!this.#returned(generation, true)) return;
    this.status = 'error';
    this.#queue = [];
    this.#free = [];
    this.#host.detach(this);
    this.#log.error({ err: message }, 'VAD model failed on this stream; detection stopped');
    this.#emitError({ type: 'error', message, detectedAt: performance.now() });
  }

  /** Returns whether this call closed it. */
  close(): boolean {
    if (this.status === 'closed') return false;
    const wasActive = this.status === 'active';
    this.status = 'closed';
    this.#queue = [];
    this.#free = [];
    this.#partial = null;
    if (wasActive) this.#host.detach(this);
    return true;
  }

  /** Starts the stream at `rate`, or restarts its model state on a change of rate (the timeline continues). */
  setRate(rate: VadSampleRate): void {
    if (!isVadSampleRate(rate)) throw new RangeError(`VAD supports 8000 and 16000 Hz, not ${String(rate)}`);
    if (this.rate !== 0) {
      // Pending chunks belong to the old rate's model state: drop them and end any utterance here.
      this.#stats.droppedChunks += this.#queue.length;
      for (let i = 0; i < this.#queue.length; i++) this.#host.countDropped();
      this.#queue = [];
      this.#segmenter.reset(this.#samples, (e) => this.#emitSegment(e));
      this.#baseMs = this.#ms(this.#samples);
      if (this.status !== 'active') return;
      this.#log.info({ from: this.rate, to: rate }, 'VAD stream changed sample rate; model state restarted');
    }
    this.generation++;
    this.rate = rate;
    this.geometry = vadGeometry(rate);
    this.#segmenter = new SpeechSegmenter(this.#segmenterSettings(rate));
    this.modelState.fill(0);
    this.#free = [];
    this.#partial = new Float32Array(this.geometry.input);
    this.#fill = 0;
    this.#sumSquares = 0;
    this.#chunkStart = 0;
    this.#samples = 0;
  }

  #segmenterSettings(rate: number): ConstructorParameters<typeof SpeechSegmenter>[0] {
    const s = this.#settings;
    const perMs = rate / 1000;
    return {
      threshold: s.threshold,
      negThreshold: s.negThreshold ?? Math.max(s.threshold - 0.15, 0.01),
      minSpeechSamples: s.minSpeechMs * perMs,
      minSilenceSamples: s.minSilenceMs * perMs,
      padSamples: s.speechPadMs * perMs,
    };
  }

  #completeChunk(g: VadGeometry): void {
    const input = this.#partial!;
    const gated = this.#gateMeanSquare > 0 && this.#sumSquares / g.window < this.#gateMeanSquare;
    const chunk: QueuedChunk = { input, start: this.#chunkStart, gated };
    this.#stats.chunks++;
    this.#chunkStart += g.window;
    // The next chunk's context is this chunk's last `context` samples, as in the reference.
    const next = this.#free.pop() ?? new Float32Array(g.input);
    next.set(input.subarray(g.input - g.context), 0);
    this.#partial = next;
    this.#fill = 0;
    this.#sumSquares = 0;

    if (this.#queue.length >= this.#settings.maxQueuedChunks) {
      const dropped = this.#queue.shift()!;
      this.#recycle(dropped);
      this.#stats.droppedChunks++;
      this.#host.countDropped();
      if (this.#dropBurst++ === 0) {
        this.#log.warn({ maxQueuedChunks: this.#settings.maxQueuedChunks }, 'VAD inference is behind; dropping the oldest chunks');
      }
    }
    this.#queue.push(chunk);
    this.#afterWork();
  }

  /**
   * The engine is done with this stream's chunk (failed: counted as an error).
   * Returns whether the outcome still applies: not once the stream stopped, nor
   * to a chunk of an earlier generation, whose result is dropped and the queue moves on.
   */
  #returned(generation: number, failed: boolean): boolean {
    this.inFlight = false;
    if (failed) this.#stats.errors++;
    if (this.status !== 'active') return false;
    if (generation !== this.generation) {
      this.#afterWork();
      return false;
    }
    return true;
  }

  /** Decides gated chunks at the head, then tells the engine if a chunk waits for the model. */
  #afterWork(): void {
    if (this.inFlight || this.status !== 'active') return;
    this.#drainGated();
    if (this.status !== 'active') return;
    if (this.#queue.length > 0) this.#host.ready(this);
    else if (this.#dropBurst > 0) {
      this.#log.debug({ dropped: this.#dropBurst }, 'VAD inference caught up');
      this.#dropBurst = 0;
    }
  }

  #drainGated(): void {
    // A listener may push() (re-entering here) or close(); the outer loop does the work once.
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.status === 'active' && !this.inFlight && this.#queue[0]?.gated) {
        const chunk = this.#queue.shift()!;
        this.#stats.skippedByGate++;
        this.#host.countGated();
        this.#recycle(chunk);
        this.#decide(0, chunk.start);
      }
    } finally {
      this.#draining = false;
    }
  }

  #recycle(chunk: QueuedChunk): void {
    if (this.geometry && chunk.input.length === this.geometry.input && this.#free.length < this.#settings.maxQueuedChunks + 2) {
      this.#free.push(chunk.input);
    }
  }

  #decide(probability: number, start: number): void {
    this.#segmenter.push(probability, start, start + this.geometry!.window, (e) => this.#emitSegment(e));
  }

  #emitSegment(e: SegmentEvent): void {
    if (this.status !== 'active') return;
    const detectedAt = performance.now();
    if (e.type === 'start') {
      this.#emitEvent({ type: 'speech_start', startMs: this.#ms(e.startSample), detectedAt });
    } else {
      this.#stats.utterances++;
      this.#emitEvent({ type: 'speech_end', startMs: this.#ms(e.startSample), endMs: this.#ms(e.endSample), decidedMs: this.#ms(e.decidedSample), detectedAt });
    }
  }

  #ms(sample: number): number {
    return this.rate === 0 ? this.#baseMs : this.#baseMs + (sample * 1000) / this.rate;
  }
}
