/**
 * The VAD's own distributions, kept where the work happens (the worker thread that batches inferences)
 * as fixed-bucket counts: one array increment per observation, no allocation, and a snapshot small
 * enough to ride in every engine stats sample. The control plane sums the workers' snapshots into
 * Prometheus histograms (docs/metrics.md), so the buckets here are the exported ones.
 */

/** A histogram's counts: `counts[i]` observations ≤ `bounds[i]` (and > the bound before), the last beyond every bound. */
export interface HistogramSnapshot {
  readonly bounds: readonly number[];
  /** Per bucket, not cumulative; one more entry than `bounds` (the +Inf bucket). */
  readonly counts: number[];
  readonly sum: number;
  readonly count: number;
}

export class FixedHistogram {
  readonly bounds: readonly number[];
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError('histogram bounds must increase');
    }
    this.bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: Array.from(this.#counts), sum: this.#sum, count: this.#count };
  }
}

/** Chunk complete → the model's probability back: the VAD's share of a turn's latency (ms). */
export const DECISION_MS_BOUNDS = [1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000] as const;
/** One batched model run, posted → answered (ms). */
export const BATCH_MS_BOUNDS = [0.5, 1, 2, 5, 10, 20, 35, 50, 100, 250] as const;
/** Chunks waiting in every stream's queue when a batch is gathered. */
export const QUEUE_DEPTH_BOUNDS = [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000] as const;

/** What VadEngineStats carries of them. */
export interface VadTimingSnapshot {
  /** Per chunk the model answered: from the chunk being complete (queued) to its answer. */
  decisionMs: HistogramSnapshot;
  /** Per model run. */
  batchMs: HistogramSnapshot;
  /** Per model run: chunks queued in all streams as it was gathered (its own included). */
  queueDepth: HistogramSnapshot;
}

export class VadTiming {
  readonly decisionMs = new FixedHistogram(DECISION_MS_BOUNDS);
  readonly batchMs = new FixedHistogram(BATCH_MS_BOUNDS);
  readonly queueDepth = new FixedHistogram(QUEUE_DEPTH_BOUNDS);

  snapshot(): VadTimingSnapshot {
    return { decisionMs: this.decisionMs.snapshot(), batchMs: this.batchMs.snapshot(), queueDepth: this.queueDepth.snapshot() };
  }
}
