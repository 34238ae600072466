import type { CoreResult, Impairment } from './generator-protocol.js';
import { Histogram } from './histogram.js';
import { round, type DirectionReport, type ImpairmentReport, type LoadTestReport } from './report.js';

export function direction(d: CoreResult['aToB']): DirectionReport {
  const h = Histogram.fromSnapshot(d.latency);
  const lost = Math.max(0, d.sent - d.received);
  return {
    sent: d.sent,
    received: d.received,
    lost,
    loss_pct: d.sent > 0 ? round((lost / d.sent) * 100, 4) : 0,
    impairment_dropped: d.impairmentDropped,
    duplicates: d.duplicates,
    latency_p50_ms: round(h.percentile(50)),
    latency_p99_ms: round(h.percentile(99)),
    latency_max_ms: round(h.max),
  };
}

export interface GeneratorSummary {
  directions: { a_to_b: DirectionReport; b_to_a: DirectionReport };
  sent: number;
  received: number;
  latencyP50: number;
  latencyP99: number;
  pacingP50: number;
  pacingP99: number;
  lateP99: number;
  lateMax: number;
  skippedSends: number;
  untagged: number;
  stale: number;
  badPackets: number;
  socketErrors: number;
  dropped: number;
  reordered: number;
  delayed: number;
  delayOverflow: number;
  latencyHistogram: LoadTestReport['latency_histogram'];
}

/** Re-buckets a fine latency histogram into at most ~120 bars covering everything up to p99.9 (×1.25). */
export function coarseLatencyHistogram(h: Histogram): LoadTestReport['latency_histogram'] {
  const snap = h.snapshot();
  if (snap.count === 0) return { bucket_ms: 1, buckets: [], overflow: 0 };
  const top = Math.max(1, h.percentile(99.9) * 1.25);
  const steps = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100];
  const width = steps.find((w) => top / w <= 120) ?? 200;
  const limit = Math.ceil(top / width) * width;
  const counts = new Map<number, number>();
  let overflow = snap.overflow;
  for (const [index, count] of snap.buckets) {
    const lower = index * snap.bucketWidth;
    if (lower >= limit) {
      overflow += count;
      continue;
    }
    const b = Math.floor(lower / width);
    counts.set(b, (counts.get(b) ?? 0) + count);
  }
  const buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([b, c]): [number, number] => [round(b * width, 3), c]);
  return { bucket_ms: width, buckets, overflow };
}

export function summarizeGenerator(g: CoreResult): GeneratorSummary {
  const latency = Histogram.fromSnapshot(g.aToB.latency);
  latency.merge(g.bToA.latency);
  const pacing = Histogram.fromSnapshot(g.pacing);
  const lateness = Histogram.fromSnapshot(g.sendLateness);
  return {
    directions: { a_to_b: direction(g.aToB), b_to_a: direction(g.bToA) },
    sent: g.aToB.sent + g.bToA.sent,
    received: g.aToB.received + g.bToA.received,
    latencyP50: round(latency.percentile(50)),
    latencyP99: round(latency.percentile(99)),
    pacingP50: round(pacing.percentile(50)),
    pacingP99: round(pacing.percentile(99)),
    lateP99: round(lateness.percentile(99)),
    lateMax: round(lateness.max),
    skippedSends: g.skippedSends,
    untagged: g.untagged,
    stale: g.stale,
    badPackets: g.badPackets,
    socketErrors: g.socketErrors,
    dropped: g.aToB.impairmentDropped + g.bToA.impairmentDropped,
    reordered: g.reordered,
    delayed: g.delayed,
    delayOverflow: g.delayOverflow,
    latencyHistogram: coarseLatencyHistogram(latency),
  };
}

export function impairmentReport(i: Impairment, g: GeneratorSummary): ImpairmentReport {
  const scheduled = g.sent + g.dropped;
  return {
    applied: i.jitterMs > 0 || i.lossPct > 0 || i.reorderPct > 0,
    jitter_ms: i.jitterMs,
    loss_pct: i.lossPct,
    reorder_pct: i.reorderPct,
    dropped_frames: g.dropped,
    reordered_packets: g.reordered,
    delayed_packets: g.delayed,
    delay_overflow: g.delayOverflow,
    end_to_end_loss_pct: scheduled > 0 ? round((Math.max(0, scheduled - g.received) / scheduled) * 100, 4) : 0,
  };
}
