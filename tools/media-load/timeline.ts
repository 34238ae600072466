import type { WindowSample } from './generator-protocol.js';
import { Histogram } from './histogram.js';
import { round, type TimelineSample } from './report.js';

/** One sample per generator window, with the engine CPU of the same second. */
export function buildTimeline(windows: readonly WindowSample[], cpu: ReadonlyMap<number, number>): TimelineSample[] {
  return windows.map((w) => {
    const h = Histogram.fromSnapshot(w.latency);
    return {
      t: w.index + 1,
      pairs: w.pairs,
      pps_in: w.packets,
      pps_out: w.arrivals,
      loss_pct: w.sent > 0 ? round((Math.max(0, w.sent - w.received) / w.sent) * 100, 3) : 0,
      cpu_pct: cpu.get(w.index) ?? null,
      latency_p99_ms: w.received > 0 ? round(h.percentile(99), 1) : null,
    };
  });
}
