/**
 * A fixed-bucket histogram for latencies and jitter: linear buckets of
 * `bucketWidth` from 0, plus one overflow bucket. Recording is O(1) with no
 * allocation, so it can sit on a per-packet path; percentiles are read from
 * the counts, never from stored samples. Exact min, max and sum are kept.
 *
 * Percentiles use the nearest-rank definition: the value of rank
 * ceil(p/100 · n). The histogram answers with the upper edge of the bucket
 * holding that rank (clamped to the exact maximum), so it is never below the
 * true percentile and at most one bucket width above it.
 */
export interface HistogramSnapshot {
  bucketWidth: number;
  bucketCount: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  overflow: number;
  /** Non-empty buckets as [index, count] pairs: compact over IPC. */
  buckets: Array<[number, number]>;
}

export class Histogram {
  readonly bucketWidth: number;
  readonly bucketCount: number;
  readonly #counts: Float64Array;
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;
  #overflow = 0;

  /** Values in [0, bucketWidth · bucketCount) land in a bucket; larger ones in the overflow bucket. */
  constructor(bucketWidth: number, bucketCount: number) {
    if (!(bucketWidth > 0) || !Number.isFinite(bucketWidth)) throw new RangeError(`bucketWidth must be a positive number, got ${bucketWidth}`);
    if (!Number.isInteger(bucketCount) || bucketCount < 1) throw new RangeError(`bucketCount must be a positive integer, got ${bucketCount}`);
    this.bucketWidth = bucketWidth;
    this.bucketCount = bucketCount;
    this.#counts = new Float64Array(bucketCount);
  }

  get count(): number {
    return this.#count;
  }

  get min(): number {
    return this.#count === 0 ? NaN : this.#min;
  }

  get max(): number {
    return this.#count === 0 ? NaN : this.#max;
  }

  get mean(): number {
    return this.#count === 0 ? NaN : this.#sum / this.#count;
  }

  get overflow(): number {
    return this.#overflow;
  }

  /** Negative values count as 0 (clock granularity can make a tiny interval negative). */
  record(value: number): void {
    const v = value > 0 ? value : 0;
    const index = Math.floor(v / this.bucketWidth);
    if (index < this.bucketCount) this.#counts[index]!++;
    else this.#overflow++;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** Nearest-rank percentile, p in [0, 100]; NaN when empty. */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.bucketCount; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min((i + 1) * this.bucketWidth, this.#max);
    }
    // The rank lies in the overflow bucket: the exact maximum is the honest answer.
    return this.#max;
  }

  /** Adds another histogram with the same bucket layout. */
  merge(other: Histogram | HistogramSnapshot): void {
    const snapshot = other instanceof Histogram ? other.snapshot() : other;
    if (snapshot.bucketWidth !== this.bucketWidth || snapshot.bucketCount !== this.bucketCount) {
      throw new RangeError(
        `cannot merge a histogram of ${snapshot.bucketCount}×${snapshot.bucketWidth} into one of ${this.bucketCount}×${this.bucketWidth}`,
      );
    }
    if (snapshot.count === 0) return;
    for (const [index, count] of snapshot.buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= this.bucketCount) throw new RangeError(`bucket index ${index} out of range`);
      this.#counts[index]! += count;
    }
    this.#overflow += snapshot.overflow;
    this.#count += snapshot.count;
    this.#sum += snapshot.sum;
    if (snapshot.min < this.#min) this.#min = snapshot.min;
    if (snapshot.max > this.#max) this.#max = snapshot.max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
    this.#overflow = 0;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < this.bucketCount; i++) {
      const c = this.#counts[i]!;
      if (c > 0) buckets.push([i, c]);
    }
    return {
      bucketWidth: this.bucketWidth,
      bucketCount: this.bucketCount,
      count: this.#count,
      sum: this.#sum,
      min: this.#count === 0 ? 0 : this.#min,
      max: this.#count === 0 ? 0 : this.#max,
      overflow: this.#overflow,
      buckets,
    };
  }

  static fromSnapshot(snapshot: HistogramSnapshot): Histogram {
    const h = new Histogram(snapshot.bucketWidth, snapshot.bucketCount);
    h.merge(snapshot);
    return h;
  }
}

/** Latency in ms: 0.05 ms buckets up to 2 s. */
export function latencyHistogram(): Histogram {
  return new Histogram(0.05, 40_000);
}

/** Pacing jitter |interarrival − period| in ms: 0.01 ms buckets up to 1 s. */
export function jitterHistogram(): Histogram {
  return new Histogram(0.01, 100_000);
}
