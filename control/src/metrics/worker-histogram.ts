import type { Registry } from 'prom-client';
import type { HistogramSnapshot } from '../../../engine/src/index.js';

interface Seen {
  counts: readonly number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram whose observations are counted in the engine's worker threads (where the work
 * is: one array increment each, nothing posted per observation) and arrive as cumulative snapshots with
 * the stats samples. Each snapshot adds what is new since the same thread's last one, so the exported
 * counts only grow: a restarted worker (a new thread, or counts that went down) starts a new tally
 * without taking the old one's away. prom-client's Histogram only takes single observations, so this is
 * a registry entry of its own that answers `get()` in the shape the registry formats (tested against
 * scraped /metrics text).
 */
export class WorkerHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #bounds: readonly number[];
  /** Multiplies bounds and sum: ms counted by the worker, seconds exported. */
  readonly #scale: number;
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  readonly #seen = new Map<number, Seen>();

  constructor(options: { name: string; help: string; bounds: readonly number[]; scale?: number; registry: Registry }) {
    this.name = options.name;
    this.help = options.help;
    this.#bounds = options.bounds;
    this.#scale = options.scale ?? 1;
    this.#counts = new Array<number>(options.bounds.length + 1).fill(0);
    // The registry formats any entry with get() → { name, help, type, values }; its TS types list only its own classes.
    options.registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** A worker thread's snapshot, cumulative since that worker's VAD started. */
  add(threadId: number, snapshot: HistogramSnapshot): void {
    // Other buckets (a worker of another version): not this histogram's.
    if (snapshot.counts.length !== this.#counts.length || snapshot.bounds.some((b, i) => b !== this.#bounds[i])) return;
    const before = this.#seen.get(threadId);
    const fresh = before === undefined || snapshot.count < before.count;
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! += snapshot.counts[i]! - (fresh ? 0 : before.counts[i]!);
    this.#sum += snapshot.sum - (fresh ? 0 : before.sum);
    this.#count += snapshot.count - (fresh ? 0 : before.count);
    this.#seen.set(threadId, { counts: snapshot.counts, sum: snapshot.sum, count: snapshot.count });
  }

  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> }> {
    const values: Array<{ value: number; labels: Record<string, string | number>; metricName: string }> = [];
    let cumulative = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      cumulative += this.#counts[i]!;
      const le = i < this.#bounds.length ? round(this.#bounds[i]! * this.#scale) : '+Inf';
      values.push({ value: cumulative, labels: { le }, metricName: `${this.name}_bucket` });
    }
    values.push({ value: round(this.#sum * this.#scale), labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: this.#count, labels: {}, metricName: `${this.name}_count` });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

/** Bounds like 0.035 stay 0.035 after scaling (not 0.035000000000000003). */
function round(value: number): number {
  return Number(value.toPrecision(12));
}
