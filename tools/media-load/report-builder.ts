import { loadavg } from 'node:os';
import { engineDelta, type EngineTotals } from './engine-totals.js';
import { impairmentReport, type GeneratorSummary } from './generator-summary.js';
import type { HeapSample } from './heap-probe.js';
import type { Resolved } from './load-options.js';
import {
  HEAP_GROWTH_TOLERANCE_MB,
  round,
  type LoadTestReport,
  type RampReport,
  type TimelineSample,
} from './report.js';
import type { machineInfo, UdpCounters } from './system-counters.js';

/** What the run read at one end of the measured window. */

export interface Snapshot {
  totals: EngineTotals;
  udp: UdpCounters | null;
  heap: HeapSample | null;
}

export interface ReportInput {
  o: Resolved;
  machine: ReturnType<typeof machineInfo>;
  audioSource: 'espeak-ng' | 'tone-sweep';
  threads: number;
  start: Snapshot;
  end: Snapshot;
  cpuPct: number;
  rss: number;
  rssPeak: number;
  summary: GeneratorSummary;
  generatorCpuPct: number;
  generatorCpuWaitPct: number | null;
  cpuWaitPct: number | null;
  workers: number;
  /** Each worker thread's nice value as applied (what the run really measured). */
  workerNice: number[];
  /** How the engine's RTP legs reached the network (its `io`, resolved at start). */
  io: 'native' | 'dgram';
  timeline: TimelineSample[];
  finalPairs: number;
  ramp: RampReport | null;
}

export const MB = 1024 * 1024;

export function buildReport(x: ReportInput): LoadTestReport {
  const { o, summary: g } = x;
  const sent = g.sent;
  const received = g.received;
  const lossPct = sent > 0 ? round((Math.max(0, sent - received) / sent) * 100, 4) : 100;
  const engine = engineDelta(x.start.totals, x.end.totals);
  const heapStart = x.start.heap ? x.start.heap.totalUsedBytes / MB : null;
  const heapEnd = x.end.heap ? x.end.heap.totalUsedBytes / MB : null;
  const heapGrowth = heapStart !== null && heapEnd !== null ? heapEnd - heapStart : null;
  const udpDelta = (key: keyof UdpCounters): number | null =>
    x.start.udp && x.end.udp ? x.end.udp[key] - x.start.udp[key] : null;
  const latencyP50 = g.latencyP50;
  const pacingP99 = g.pacingP99;
  const { rx, tx, legs: _legs, targetMsSum: _targetMsSum, ...engineCounters } = engine;
  return {
    pairs: x.finalPairs,
    seconds: o.seconds,
    warmup_seconds: o.warmupSeconds,
    workers: x.workers,
    worker_nice: x.workerNice,
    io: x.io,
    codec: o.codec,
    audio_source: x.audioSource,
    loss_pct: lossPct,
    latency_p50_ms: latencyP50,
    latency_p99_ms: g.latencyP99,
    pacing_jitter_p99_ms: pacingP99,
    pacing_jitter_p50_ms: g.pacingP50,
    cpu_pct: round(x.cpuPct, 1),
    cpu_wait_pct: x.cpuWaitPct === null ? null : round(x.cpuWaitPct, 1),
    rss_mb: round(x.rss / MB, 1),
    rss_peak_mb: round(x.rssPeak / MB, 1),
    heap_growth_mb: heapGrowth === null ? null : round(heapGrowth, 2),
    heap_start_mb: heapStart === null ? null : round(heapStart, 2),
    heap_end_mb: heapEnd === null ? null : round(heapEnd, 2),
    heap_by_thread_mb:
      x.start.heap && x.end.heap
        ? {
            main_start: round(x.start.heap.mainUsedBytes / MB, 2),
            main_end: round(x.end.heap.mainUsedBytes / MB, 2),
            workers_start: x.start.heap.workerUsedBytes.map((b) => round(b / MB, 2)),
            workers_end: x.end.heap.workerUsedBytes.map((b) => round(b / MB, 2)),
          }
        : null,
    packets_in: rx,
    packets_out: tx,
    frames_sent: sent,
    frames_received: received,
    directions: g.directions,
    engine: engineCounters,
    generator: {
      threads: x.threads,
      cpu_pct: round(x.generatorCpuPct, 1),
      cpu_wait_pct: x.generatorCpuWaitPct === null ? null : round(x.generatorCpuWaitPct, 1),
      send_late_p99_ms: g.lateP99,
      send_late_max_ms: g.lateMax,
      skipped_sends: g.skippedSends,
      untagged_frames: g.untagged,
      stale_frames: g.stale,
      bad_packets: g.badPackets,
      socket_errors: g.socketErrors,
    },
    rcvbuf_errors: udpDelta('rcvbufErrors'),
    sndbuf_errors: udpDelta('sndbufErrors'),
    machine: { ...x.machine, loadavg_1m_at_end: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
    targets: {
      loss_below_0_1_pct: lossPct < 0.1,
      pacing_jitter_p99_at_most_2_ms: pacingP99 <= 2,
      latency_p50_at_most_30_ms: latencyP50 <= 30,
      no_heap_growth: heapGrowth === null ? null : heapGrowth < HEAP_GROWTH_TOLERANCE_MB,
    },
    impairment: impairmentReport(o.impairment, g),
    latency_histogram: g.latencyHistogram,
    timeline: x.timeline,
    ramp: x.ramp,
  };
}
