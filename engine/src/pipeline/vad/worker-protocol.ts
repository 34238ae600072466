/**
 * Messages between SileroModel (the owning thread) and silero-worker (the
 * inference thread). Float arrays travel as transferred buffers, never copied.
 */
import type { VadSampleRate } from './model.js';

export interface SileroWorkerData {
  modelPath: string | null;
}

export type ToSileroWorker =
  | { type: 'run'; id: number; sampleRate: VadSampleRate; size: number; input: Float32Array; state: Float32Array }
  | { type: 'close' };

export type FromSileroWorker =
  | { type: 'ready' }
  | { type: 'load_failed'; message: string }
  | { type: 'result'; id: number; probabilities: Float32Array; state: Float32Array }
  | { type: 'run_failed'; id: number; message: string }
  | { type: 'closed' };
