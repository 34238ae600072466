import type { CoreResult, WindowSample } from './generator-protocol.js';
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
    into.impairmentDropped += from.impairmentDropped;
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
    for (const key of ['sentTotal', 'receivedTotal', 'badPackets', 'untagged', 'stale', 'skippedSends', 'socketErrors', 'reordered', 'delayed', 'delayOverflow'] as const) {
      merged[key] += r[key];
    }
    if (r.streamFrames !== undefined) merged.streamFrames = [...(merged.streamFrames ?? []), ...r.streamFrames];
  }
  // Windows by index: every core settles the same indices, but a core may end one short.
  const byIndex = new Map<number, WindowSample[]>();
  for (const r of results) {
    for (const w of r.windows) {
      const list = byIndex.get(w.index);
      if (list) list.push(w);
      else byIndex.set(w.index, [w]);
    }
  }
  merged.windows = [...byIndex.keys()].sort((a, b) => a - b).map((index) => mergeWindows(byIndex.get(index) as WindowSample[]));
  return merged;
}

/** Sums the same window from several cores (pairs too: each core counts its own). */
export function mergeWindows(samples: readonly WindowSample[]): WindowSample {
  const [first, ...rest] = samples;
  if (first === undefined) throw new RangeError('no windows to merge');
  const latency = Histogram.fromSnapshot(first.latency);
  const merged: WindowSample = { ...first };
  for (const w of rest) {
    if (w.index !== first.index) throw new RangeError(`cannot merge window ${w.index} into window ${first.index}`);
    merged.pairs += w.pairs;
    merged.packets += w.packets;
    merged.sent += w.sent;
    merged.received += w.received;
    merged.dropped += w.dropped;
    merged.arrivals += w.arrivals;
    latency.merge(w.latency);
  }
  merged.latency = latency.snapshot();
  return merged;
}

