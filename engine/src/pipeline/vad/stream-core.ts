/**
 * One audio stream's side of the VAD: `push()` copies 20 ms frames into
 * model-size chunks (32 ms: 256 samples at 8 kHz, 512 at 16 kHz, each with the
 * reference implementation's context of the previous 32/64 samples) and queues
 * them for the engine's next batch; results come back through the engine and
 * drive the hysteresis (segmenter.ts), which emits utterance events.
 *
 * push() never waits and does O(frame) work: a copy, a sum of squares and, at
 * most once per 32 ms, the energy gate's verdict (energy-gate.ts) and moving a
 * chunk into the queue. Chunks the gate calls silence are decided without the
 * model. When the gate opens, the chunks just before it go to the model first
 * (the pre-roll: the soft start of a word the gate did not hear is still the
 * model's to find). Silence the gate decides while an utterance is still open
 * (its end pending) is decided at once but still goes to the model for its
 * recurrent state ("warmed"), so the state the model carries across a gap has
 * heard the utterance end, as it would have without the gate. The queue is bounded;
 * when inference falls behind, the oldest chunks are dropped and counted. The
 * stream keeps its native rate (Silero runs 8 kHz and 16 kHz directly); a
 * change of rate restarts the model state while the timeline continues.
 *
 * Listeners run from the engine's result handler, or from inside push() when
 * the energy gate decides a chunk without the model.
 */
import { performance } from 'node:perf_hooks';
import { logger, type Logger } from '../../../../common/src/logger.js';
import type { EnergyGate } from './energy-gate.js';
import { VAD_STATE_SIZE, isVadSampleRate, vadGeometry, type VadGeometry, type VadSampleRate } from './model.js';
import { AdaptiveGateSchema, type AdaptiveGateSettings, type VadStreamSettings } from './options.js';
import { preRollBefore } from './pre-roll.js';
import { PreRollRing } from './pre-roll-ring.js';
import { SpeechSegmenter, type SegmentEvent } from './segmenter.js';
import { gatePlan, segmenterSettings } from './stream-tuning.js';
import type { QueuedChunk, StreamHost, VadEvent, VadStreamError, VadStreamState, VadStreamStats } from './vad-types.js';

const log = logger('pipeline.vad');
/** int16 → [-1, 1): a power of two, so the same floats as dividing by 32768. */
const INV_FULL_SCALE = 1 / 32768;

export class StreamCore {
  readonly id: string;
  readonly #settings: VadStreamSettings;
  readonly #host: StreamHost;
  readonly #log: Logger;
  readonly #emitEvent: (event: VadEvent) => void;
  readonly #emitError: (error: VadStreamError) => void;
  #segmenter: SpeechSegmenter;
  readonly #adaptive: AdaptiveGateSettings;
  #gate: EnergyGate | null = null;
  /** Gated chunks the model did not hear after which its state restarts; 0: never. */
  #resetAfterChunks = 0;
  /** Gated chunks of an utterance's pending end the model still hears (its state learns the speech stopped). */
  #warmChunks = 0;
  /** Warmed since the model last heard a chunk it decided. */
  #warmRun = 0;
  /** The last gated chunks already decided; cleared when the model takes a chunk. */
  readonly #ring = new PreRollRing((input) => this.#recycleInput(input));
  /** Gated chunks since the last chunk that went to the model. */
  #closedRun = 0;
  /** The chunk in flight has a decision waiting on it (false for one the gate decided, run for the model state only). */
  #inFlightDecides = true;

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
  readonly #stats = { chunks: 0, inferences: 0, skippedByGate: 0, preRolled: 0, warmed: 0, stateResets: 0, droppedChunks: 0, errors: 0, utterances: 0 };

  constructor(id: string, settings: VadStreamSettings, host: StreamHost, emitEvent: (e: VadEvent) => void, emitError: (e: VadStreamError) => void) {
    this.id = id;
    this.#settings = settings;
    this.#host = host;
    this.#emitEvent = emitEvent;
    this.#emitError = emitError;
    this.#log = log.child({ stream: id });
    this.#adaptive = settings.adaptiveGate ?? AdaptiveGateSchema.parse({});
    // Segmenter positions are samples; it is rebuilt for the rate on the first push.
    this.#segmenter = new SpeechSegmenter(segmenterSettings(this.#settings, 16000));
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
    return head !== undefined && this.geometry !== null && !head.gated && head.decide && this.#segmenter.canDecide(head.start, head.start + this.geometry.window);
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
    this.#inFlightDecides = chunk.decide;
    // The model moves past the gated chunks kept for a pre-roll: they can no longer precede its next input.
    this.#ring.clear();
    if (chunk.resetState) {
      this.modelState.fill(0);
      this.#stats.stateResets++;
    }
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
    if (chunk.decide) {
      this.#warmRun = 0;
      this.#decide(probability, chunk.start);
    }
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
    this.#ring.discard();
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
    this.#ring.discard();
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
    this.#segmenter = new SpeechSegmenter(segmenterSettings(this.#settings, rate));
    this.modelState.fill(0);
    this.#free = [];
    this.#ring.discard();
    this.#closedRun = 0;
    const plan = gatePlan(this.#settings, this.#adaptive, this.geometry, rate);
    this.#gate = plan.gate;
    this.#ring.capacity = plan.preRollChunks;
    this.#resetAfterChunks = plan.resetAfterChunks;
    this.#warmChunks = plan.warmChunks;
    this.#partial = new Float32Array(this.geometry.input);
    this.#fill = 0;
    this.#sumSquares = 0;
    this.#chunkStart = 0;
    this.#samples = 0;
  }

  /**
   * The model's judgement is needed whatever the energy: an utterance (or its pending end) is open. Chunks
   * not yet answered may open one; #drainGated asks again when the gate's chunk is decided, so a backlog
   * does not hold the gate open (which would keep a stream that fell behind from ever catching up).
   */
  #busy(): boolean {
    return this.#segmenter.active;
  }

  #completeChunk(g: VadGeometry): void {
    const input = this.#partial!;
    const verdict = this.#gate!.classify(this.#sumSquares / g.window, this.#busy());
    const gated = verdict !== 'model';
    const chunk: QueuedChunk = { input, start: this.#chunkStart, gated, silent: verdict === 'silent', decide: true, resetState: false, queuedAt: performance.now() };
    this.#stats.chunks++;
    this.#chunkStart += g.window;
    // The next chunk's context is this chunk's last `context` samples, as in the reference.
    const next = this.#free.pop() ?? new Float32Array(g.input);
    next.set(input.subarray(g.input - g.context), 0);
    this.#partial = next;
    this.#fill = 0;
    this.#sumSquares = 0;

    if (gated) this.#closedRun++;
    else if (this.#closedRun > 0) this.#preRollBefore(chunk);
    while (this.#queue.length >= this.#settings.maxQueuedChunks) {
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
      const generation = this.generation;
      let i = 0;
      // Decisions go in timeline order: not past a chunk whose answer is still to be decided.
      while (this.status === 'active' && this.generation === generation && !(this.inFlight && this.#inFlightDecides) && i < this.#queue.length) {
        const chunk = this.#queue[i]!;
        if (!chunk.decide) {
          i++; // decided already, waiting for the model to hear it
          continue;
        }
        if (!chunk.gated) break;
        if (this.#segmenter.active && !chunk.silent) {
          // An utterance opened while this chunk waited: above the absolute floor, the model decides it.
          chunk.gated = false;
          this.#ring.clear();
          break;
        }
        this.#stats.skippedByGate++;
        this.#host.countGated();
        if (this.#segmenter.active && this.#warmRun < this.#warmChunks) {
          // Decided now (an utterance's end is not kept waiting), but the model still hears it: its state
          // must not carry an utterance across silence it never saw.
          chunk.gated = false;
          chunk.decide = false;
          this.#stats.warmed++;
          this.#warmRun++;
          this.#host.countWarmed();
          i++;
        } else {
          this.#queue.splice(i, 1);
          if (chunk.silent) {
            // Nothing under the absolute floor is worth a pre-roll, and older kept chunks no longer precede the next.
            this.#recycle(chunk);
            this.#ring.clear();
          } else this.#ring.keep({ input: chunk.input, start: chunk.start, redecidable: !this.#segmenter.active });
        }
        this.#decide(0, chunk.start);
      }
    } finally {
      this.#draining = false;
    }
  }

  /** The gate opened on `opening`: the gated chunks just before it go to the model first (pre-roll.ts). */
  #preRollBefore(opening: QueuedChunk): void {
    const restored = preRollBefore(this.#queue, this.#ring, opening, this.#closedRun, this.#resetAfterChunks);
    this.#stats.preRolled += restored;
    for (let i = 0; i < restored; i++) this.#host.countPreRolled();
    this.#closedRun = 0;
  }

  #recycle(chunk: QueuedChunk): void {
    this.#recycleInput(chunk.input);
  }

  #recycleInput(input: Float32Array): void {
    if (this.geometry && input.length === this.geometry.input && this.#free.length < this.#settings.maxQueuedChunks + 2) {
      this.#free.push(input);
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
