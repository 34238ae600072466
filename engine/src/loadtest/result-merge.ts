import type { CoreResult } from './generator-protocol.js';
import { Histogram } from './histogram.js';

/** Sums core results; histograms merge bucket by bucket. */
export function mergeCoreResults(results: CoreResult[]): CoreResult {
  const [first, ...rest] = results;
  if (first === undefined) throw new RangeError('no core results to merge');
  const merged: CoreResult = structuredClone(first);
  const add = (into: CoreResult['aToB'], from: CoreResult['aToB']): void => {
    into.sent += from.sent;
    into.received += from.received;
    into.duplicates += from.duplicates;
    const h = Histogram.fromSnapshot(into.latency);
    h.merge(from.latency);
    into.latency = h.snapshot();
  };
  for (const r of rest) {
    add(merged.aToB, r.aToB);
    add(merged.bToA, r.bToA);
    for (const key of ['pacing', 'sendLateness'] as const) {
      const h = Histogram.fromSnapshot(merged[key]);
      h.merge(r[key]);
      merged[key] = h.snapshot();
    }
    for (const key of ['sentTotal', 'receivedTotal', 'badPackets', 'untagged', 'stale', 'skippedSends', 'socketErrors'] as const) {
      merged[key] += r[key];
    }
  }
  return merged;
}

