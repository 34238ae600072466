import { Counter, Gauge, type Registry } from 'prom-client';
import { BATCH_MS_BOUNDS, DECISION_MS_BOUNDS, QUEUE_DEPTH_BOUNDS } from '../../../engine/src/index.js';
import type { EngineSample } from './engine-sampler.js';
import { WorkerHistogram } from './worker-histogram.js';

/**
 * The Silero VAD's load (docs/metrics.md, docs/vad.md): how long each chunk waited for the model's answer,
 * how long model runs take, how deep the queue was when each run was gathered, and chunks dropped because
 * inference fell behind. Counted in the engine workers that run the VAD; summed over workers here from the
 * shared engine samples. A node with no translated call yet has no VAD loaded: the series stay at zero.
 */
export class VadMetrics {
  readonly #decision: WorkerHistogram;
  readonly #batch: WorkerHistogram;
  readonly #depth: WorkerHistogram;
  readonly #dropped: Counter<never>;
  readonly #droppedSeen = new Map<number, number>();
  #queued = 0;

  constructor(registry: Registry) {
    this.#decision = new WorkerHistogram({
      registry,
      name: 'tandem_vad_decision_seconds',
      help: "Per VAD inference: from the 32 ms chunk being complete (queued) to the model's answer (queue wait, batch window and model run).",
      bounds: DECISION_MS_BOUNDS,
      scale: 0.001,
    });
    this.#batch = new WorkerHistogram({
      registry,
      name: 'tandem_vad_batch_seconds',
      help: 'Per batched VAD model run: posted to the model thread until answered.',
      bounds: BATCH_MS_BOUNDS,
      scale: 0.001,
    });
    this.#depth = new WorkerHistogram({
      registry,
      name: 'tandem_vad_queue_depth_chunks',
      help: "Per batched VAD model run: chunks waiting in every stream's queue as it was gathered (its own included).",
      bounds: QUEUE_DEPTH_BOUNDS,
    });
    this.#dropped = new Counter({ name: 'tandem_vad_dropped_chunks_total', help: 'VAD chunks dropped because inference fell behind (a stream queue full), summed over workers.', registers: [registry] });
    const read = (): number => this.#queued;
    new Gauge({
      name: 'tandem_vad_queued_chunks',
      help: "VAD chunks waiting for the model in every worker's queues, at the last engine sample.",
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  }

  accumulate(sample: EngineSample): void {
    let queued = 0;
    for (const shard of sample.stats.shards) {
      const vad = shard.vad;
      if (vad === null) continue;
      queued += vad.queuedChunks;
      this.#decision.add(shard.threadId, vad.timing.decisionMs);
      this.#batch.add(shard.threadId, vad.timing.batchMs);
      this.#depth.add(shard.threadId, vad.timing.queueDepth);
      const before = this.#droppedSeen.get(shard.threadId) ?? 0;
      const delta = vad.droppedChunks >= before ? vad.droppedChunks - before : vad.droppedChunks;
      if (delta > 0) this.#dropped.inc(delta);
      this.#droppedSeen.set(shard.threadId, vad.droppedChunks);
    }
    this.#queued = queued;
  }
}
