/**
 * Silero VAD for every stream of one thread, batched. Streams queue 32 ms
 * chunks as their audio arrives; the engine gathers the chunks that are ready
 * (at most one per stream, since each stream's recurrent state is sequential)
 * and runs ONE batched inference at a time: the next batch starts when the
 * previous one resolved, and streams whose chunk completed meanwhile wait for
 * it. Batching is what makes hundreds of streams affordable: per stream a
 * batch of 64 costs about a fifth of a lone inference (vad.bench.ts). The
 * batch window is skipped when a ready chunk could decide a speech start or
 * end: batching is for the chunks nobody is waiting on.
 *
 * Where the inference runs matters: onnxruntime-node runs it synchronously on
 * the calling JS thread (measured: the event loop stalls for the whole run,
 * ~20 ms for a batch of 256), so by default the session lives in its own
 * worker thread (SileroModel) and this thread only gathers, posts and
 * scatters; `maxEventLoopBlockMs` reports the longest of those.
 *
 * A batch is all one sample rate (the model's `sr` input is a scalar); when
 * both rates wait, batches alternate. A failed run is retried stream by stream
 * so one poisonous input costs only its own stream, which then reports 'error'.
 */
import { performance } from 'node:perf_hooks';
import { InvalidStateError, errorMessage } from '../../../../common/src/errors.js';
import { logger } from '../../../../common/src/logger.js';
import { parseConfig } from '../../../../common/src/parse-config.js';
import { VAD_STATE_SIZE, vadGeometry, type VadBatchResult, type VadModel, type VadSampleRate } from './model.js';
import { VadEngineOptionsSchema, VadStreamOptionsSchema, type VadEngineOptions, type VadEngineSettings, type VadStreamOptions } from './options.js';
import { SileroModel } from './silero-model.js';
import { SileroSession } from './silero-session.js';
import { VadStream, streamCore, type QueuedChunk, type StreamCore, type StreamHost } from './vad-stream.js';
import { VadTiming, type VadTimingSnapshot } from './vad-timing.js';

export interface VadEngineStats {
  openStreams: number;
  /** Streams stopped by a model failure on their own audio. */
  failedStreams: number;
  /** Chunks the model answered. */
  inferences: number;
  /** Model runs started. */
  batches: number;
  /** Streams per model run. */
  meanBatchSize: number;
  skippedByGate: number;
  /** Gated chunks that went to the model afterwards as a pre-roll (also in inferences). */
  preRolled: number;
  /** Gated chunks during an utterance's pending end the model also heard, for its state (also in skippedByGate and inferences). */
  warmed: number;
  droppedChunks: number;
  /** Model runs that failed. */
  errors: number;
  /** Chunks waiting in all streams' queues now (bounded by streams × maxQueuedChunks). */
  queuedChunks: number;
  /** Streams in the run in progress. */
  inFlight: number;
  /** Mean and longest time from posting a batch to its answer. */
  meanBatchMs: number;
  maxBatchMs: number;
  /** Longest time this thread spent on one batch's own work (gather + post, or scatter + events). */
  maxEventLoopBlockMs: number;
  /** Decision time per inference, model time and queue depth per run, as histogram counts since start. */
  timing: VadTimingSnapshot;
}

interface Member {
  core: StreamCore;
  chunk: QueuedChunk;
  generation: number;
}

const log = logger('pipeline.vad');

export class VadEngine {
  readonly #settings: VadEngineSettings;
  readonly #model: VadModel;
  readonly #ownsModel: boolean;
  readonly #streams = new Map<StreamCore, VadStream>();
  readonly #ready: Record<VadSampleRate, Set<StreamCore>> = { 8000: new Set(), 16000: new Set() };
  readonly #isolated = new Set<StreamCore>();
  readonly #host: StreamHost;
  #lastRate: VadSampleRate = 8000;
  #immediate: NodeJS.Immediate | null = null;
  /** The batch window's timer: a batch runs when it fires, or at once when maxBatchSize are ready. */
  #window: NodeJS.Timeout | null = null;
  /** A ready stream's next chunk may decide a speech start or end (StreamCore.decisive): no batch window. */
  #decisiveReady = false;
  #running: Promise<void> | null = null;
  #inFlight = 0;
  #closing: Promise<void> | null = null;
  #nextId = 1;
  #errorStreak = 0;
  readonly #timing = new VadTiming();
  readonly #stats = {
    failedStreams: 0,
    inferences: 0,
    batches: 0,
    rows: 0,
    skippedByGate: 0,
    preRolled: 0,
    warmed: 0,
    droppedChunks: 0,
    errors: 0,
    answered: 0,
    batchMsTotal: 0,
    maxBatchMs: 0,
    maxEventLoopBlockMs: 0,
  };

  private constructor(settings: VadEngineSettings, model: VadModel, ownsModel: boolean) {
    this.#settings = settings;
    this.#model = model;
    this.#ownsModel = ownsModel;
    this.#host = {
      ready: (core) => this.#markReady(core),
      detach: (core) => this.#detach(core),
      countGated: () => void this.#stats.skippedByGate++,
      countDropped: () => void this.#stats.droppedChunks++,
      countPreRolled: () => void this.#stats.preRolled++,
      countWarmed: () => void this.#stats.warmed++,
    };
  }

  /** Validates options (ConfigError naming the bad key) and loads the model unless one is given. */
  static async create(options: VadEngineOptions = {}): Promise<VadEngine> {
    const settings = parseConfig(VadEngineOptionsSchema, options, 'vad');
    if (settings.model) return new VadEngine(settings, settings.model, false);
    const modelOptions = settings.modelPath === undefined ? {} : { modelPath: settings.modelPath };
    const model = settings.runtime === 'inline' ? await SileroSession.load(modelOptions) : await SileroModel.start(modelOptions);
    return new VadEngine(settings, model, true);
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /** A new stream with its own model state and hysteresis (ConfigError on bad options). */
  openStream(options: VadStreamOptions = {}): VadStream {
    if (this.#closing) throw new InvalidStateError('VAD engine is closed');
    const settings = parseConfig(VadStreamOptionsSchema, options, 'vad.stream');
    settings.adaptiveGate ??= this.#settings.adaptiveGate;
    const stream = new VadStream(settings.id ?? `vad-${this.#nextId++}`, settings, this.#host);
    this.#streams.set(streamCore(stream), stream);
    return stream;
  }

  stats(): VadEngineStats {
    const s = this.#stats;
    const queuedChunks = this.#queuedChunks();
    return {
      openStreams: this.#streams.size,
      failedStreams: s.failedStreams,
      inferences: s.inferences,
      batches: s.batches,
      meanBatchSize: s.batches === 0 ? 0 : s.rows / s.batches,
      skippedByGate: s.skippedByGate,
      preRolled: s.preRolled,
      warmed: s.warmed,
      droppedChunks: s.droppedChunks,
      errors: s.errors,
      queuedChunks,
      inFlight: this.#inFlight,
      meanBatchMs: s.answered === 0 ? 0 : s.batchMsTotal / s.answered,
      maxBatchMs: s.maxBatchMs,
      maxEventLoopBlockMs: s.maxEventLoopBlockMs,
      timing: this.#timing.snapshot(),
    };
  }

  /** Chunks waiting in every stream's queue (a chunk in flight has left its queue). */
  #queuedChunks(): number {
    let n = 0;
    for (const core of this.#streams.keys()) n += core.queuedChunks;
    return n;
  }

  /** Closes every stream, waits for the run in progress, then releases the model it loaded. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#immediate = null;
    if (this.#window) clearTimeout(this.#window);
    this.#window = null;
    for (const stream of [...this.#streams.values()]) stream.close();
    await this.#running;
    if (this.#ownsModel) await this.#model.close();
  }

  #markReady(core: StreamCore): void {
    if (this.#closing || core.rate === 0) return;
    if (core.isolate) this.#isolated.add(core);
    else this.#ready[core.rate].add(core);
    if (this.#settings.urgentDecisions && core.decisive) this.#decisiveReady = true;
    this.#schedule();
  }

  #detach(core: StreamCore): void {
    this.#ready[8000].delete(core);
    this.#ready[16000].delete(core);
    this.#isolated.delete(core);
    if (core.status === 'error') this.#stats.failedStreams++;
    if (core.status === 'closed') this.#streams.delete(core);
  }

  #schedule(): void {
    // setImmediate, not a microtask: every stream that completes a chunk in this tick joins the batch.
    if (this.#running || this.#immediate || this.#closing) return;
    const ready = this.#ready[8000].size + this.#ready[16000].size;
    const windowMs = this.#settings.batchWindowMs;
    // A chunk that may end (or start) an utterance does not wait for company: the turn's latency hangs on it.
    if (windowMs > 0 && ready > 0 && ready < this.#settings.maxBatchSize && this.#isolated.size === 0 && !this.#decisiveReady) {
      this.#window ??= setTimeout(() => {
        this.#window = null;
        this.#runBatch();
      }, windowMs);
      return;
    }
    if (this.#window) clearTimeout(this.#window);
    this.#window = null;
    this.#immediate = setImmediate(() => {
      this.#immediate = null;
      this.#runBatch();
    });
  }

  /** After a gather: whether a stream left waiting (beyond maxBatchSize, or of the other rate) still has a decisive chunk. */
  #anyDecisiveReady(): boolean {
    for (const set of [this.#ready[8000], this.#ready[16000]]) for (const core of set) if (core.decisive) return true;
    return false;
  }

  #gather(): { rate: VadSampleRate; members: Member[] } | null {
    for (const core of this.#isolated) {
      this.#isolated.delete(core);
      if (core.rate === 0) continue;
      const chunk = core.take();
      if (chunk) return { rate: core.rate, members: [{ core, chunk, generation: core.generation }] };
    }
    const other: VadSampleRate = this.#lastRate === 8000 ? 16000 : 8000;
    for (const rate of [other, this.#lastRate]) {
      const members: Member[] = [];
      const set = this.#ready[rate];
      for (const core of set) {
        if (members.length >= this.#settings.maxBatchSize) break;
        set.delete(core);
        if (core.rate !== rate || core.isolate) {
          // Changed rate (or failed) since it became ready: it belongs in another set.
          if (core.status === 'active' && core.rate !== 0) this.#markReady(core);
          continue;
        }
        const chunk = core.take();
        if (chunk) members.push({ core, chunk, generation: core.generation });
      }
      if (members.length > 0) {
        this.#lastRate = rate;
        return { rate, members };
      }
    }
    return null;
  }

  #runBatch(): void {
    if (this.#closing || this.#running) return;
    const t0 = performance.now();
    const depth = this.#queuedChunks();
    const gathered = this.#gather();
    this.#decisiveReady = this.#settings.urgentDecisions && this.#anyDecisiveReady();
    if (!gathered) return;
    const { rate, members } = gathered;
    this.#timing.queueDepth.observe(depth);
    const size = members.length;
    const g = vadGeometry(rate);
    const input = new Float32Array(size * g.input);
    const state = new Float32Array(size * VAD_STATE_SIZE);
    for (let i = 0; i < size; i++) {
      const { core, chunk } = members[i]!;
      input.set(chunk.input, i * g.input);
      state.set(core.modelState.subarray(0, 128), i * 128);
      state.set(core.modelState.subarray(128, 256), (size + i) * 128);
    }
    this.#stats.batches++;
    this.#stats.rows += size;
    this.#inFlight = size;
    let answer: Promise<VadBatchResult>;
    try {
      answer = this.#model.run({ sampleRate: rate, size, input, state });
    } catch (err) {
      answer = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const posted = performance.now();
    this.#noteBlock(posted - t0);
    this.#running = answer.then(
      (result) => this.#settle(() => this.#onResult(members, result, posted)),
      (err: unknown) => this.#settle(() => this.#onError(members, err)),
    );
  }

  #settle(handle: () => void): void {
    const t0 = performance.now();
    try {
      handle();
    } catch (err) {
      // Listeners are isolated by safeEmit; reaching here is a bug, and must not stop the scheduler.
      log.error({ err: errorMessage(err) }, 'VAD result handling failed');
    } finally {
      this.#inFlight = 0;
      this.#running = null;
      this.#noteBlock(performance.now() - t0);
      this.#schedule();
    }
  }

  #onResult(members: Member[], result: VadBatchResult, posted: number): void {
    const size = members.length;
    if (result.probabilities.length !== size || result.state.length !== size * VAD_STATE_SIZE) {
      this.#onError(members, new Error(`model answered ${result.probabilities.length} rows for a batch of ${size}`));
      return;
    }
    const now = performance.now();
    const ms = now - posted;
    this.#timing.batchMs.observe(ms);
    for (const { chunk } of members) this.#timing.decisionMs.observe(now - chunk.queuedAt);
    this.#stats.answered++;
    this.#stats.batchMsTotal += ms;
    if (ms > this.#stats.maxBatchMs) this.#stats.maxBatchMs = ms;
    this.#stats.inferences += size;
    if (this.#errorStreak > 0) {
      log.info({ failedRuns: this.#errorStreak }, 'VAD model answering again');
      this.#errorStreak = 0;
    }
    for (let i = 0; i < size; i++) {
      const { core, chunk, generation } = members[i]!;
      core.accept(chunk, generation, result.probabilities[i]!, result.state, i, size);
    }
  }

  #onError(members: Member[], err: unknown): void {
    this.#stats.errors++;
    const message = errorMessage(err);
    if (this.#errorStreak++ === 0) log.error({ err: message, batch: members.length }, 'VAD model run failed');
    if (members.length > 1) {
      for (const { core, chunk, generation } of members) core.retry(chunk, generation);
    } else {
      for (const { core, generation } of members) core.fail(generation, message);
    }
  }

  #noteBlock(ms: number): void {
    if (ms > this.#stats.maxEventLoopBlockMs) this.#stats.maxEventLoopBlockMs = ms;
  }
}
