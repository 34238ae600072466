import type { MachineInfo } from './system-counters.js';

/**
 * The load test's result. Keys are snake_case because the JSON file is the
 * contract (`pairs`, `loss_pct`, `latency_p50_ms`, … as the issue names them).
 */
export interface DirectionReport {
  /** Frames sent in the measured window. */
  sent: number;
  /** Of those, frames seen on the other socket of the pair. */
  received: number;
  lost: number;
  loss_pct: number;
  /** Frames the generator's impairment dropped before sending: not in `sent`, not the engine's fault. */
  impairment_dropped: number;
  duplicates: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  latency_max_ms: number;
}

export interface EngineCounters {
  /** Datagrams the legs dropped before their jitter buffers, by reason. */
  rx_dropped: Record<string, number>;
  jitter_lost: number;
  jitter_late: number;
  jitter_concealed: number;
  jitter_overflow: number;
  /** Mean adaptive jitter-buffer target depth over all legs at the end of the run: most of the engine-added latency. */
  jitter_target_ms_avg: number;
  /** Frames the jitter buffers dropped to shrink toward their target depth; null while the engine does not report it. */
  jitter_accelerated: number | null;
  /** Frames discarded unplayed at a stream end or resync; null while the engine does not report it. */
  jitter_flushed: number | null;
  tx_errors: number;
  tx_skipped_not_connected: number;
  late_ticks: number;
  skipped_ticks: number;
  max_tick_lateness_ms: number;
}

export interface GeneratorHealth {
  threads: number;
  /** Generator process CPU over the measured window, % of one core: it shares the machine with the engine. */
  cpu_pct: number;
  cpu_wait_pct: number | null;
  /** How late the generator sent (actual − deadline): high values mean the generator, not the engine, is the limit. */
  send_late_p99_ms: number;
  send_late_max_ms: number;
  skipped_sends: number;
  untagged_frames: number;
  stale_frames: number;
  bad_packets: number;
  socket_errors: number;
}

/** One second of the run (t = end of the window, seconds since the generator started, warm-up included). */
export interface TimelineSample {
  t: number;
  /** Pairs sending at the end of the second. */
  pairs: number;
  /** Packets into the engine (every datagram the generator sent) and out of it (generator arrivals) in that second. */
  pps_in: number;
  pps_out: number;
  /** Frames sent in the second that never came back (within the window's settle time). */
  loss_pct: number;
  /** Engine process CPU in that second, % of one core; null when not sampled. */
  cpu_pct: number | null;
  /** null when no frame of the second came back. */
  latency_p99_ms: number | null;
}

export interface ImpairmentReport {
  applied: boolean;
  jitter_ms: number;
  loss_pct: number;
  reorder_pct: number;
  /** Frames dropped by the impairment in the measured window (both directions). */
  dropped_frames: number;
  reordered_packets: number;
  delayed_packets: number;
  /** Delayed packets the delay wheel had no room for (sent at once). */
  delay_overflow: number;
  /** Loss as the far end hears it: impairment drops plus engine loss. The top-level loss_pct is the engine's alone. */
  end_to_end_loss_pct: number;
}

export type RampStopReason = 'loss' | 'latency' | 'cap' | 'time' | 'error';

export interface RampReport {
  pairs_per_second: number;
  loss_threshold_pct: number;
  latency_threshold_ms: number;
  /** The last pair count whose 1 s window met both thresholds (null: not even the first did). */
  knee_pairs: number | null;
  /** Pairs open when the ramp stopped. */
  max_pairs: number;
  stopped_because: RampStopReason;
}

export interface LoadTestReport {
  pairs: number;
  seconds: number;
  warmup_seconds: number;
  workers: number;
  /** Nice value each engine worker thread ran at (engine setting workerNice, if the OS allowed it). */
  worker_nice: number[];
  /** The engine's socket I/O path: native (a batched port per worker) or dgram (a socket per leg). */
  io: 'native' | 'dgram';
  codec: string;
  audio_source: 'espeak-ng' | 'tone-sweep';
  /** Frames sent in the measured window that never came out of the other leg (both directions); impairment drops are not counted as sent. */
  loss_pct: number;
  /** Engine-added latency: frame sent into leg A → the same frame out of leg B (both directions). */
  latency_p50_ms: number;
  latency_p99_ms: number;
  /** p99 of |interarrival − 20 ms| of the injected streams, as the generator received them. */
  pacing_jitter_p99_ms: number;
  pacing_jitter_p50_ms: number;
  /** Engine process CPU (all threads) over the measured window, % of one core. */
  cpu_pct: number;
  /** Time the engine's threads sat runnable on a run queue, % of one core: high means the machine, not the engine, was short of CPU. */
  cpu_wait_pct: number | null;
  /** Engine process RSS at the end of the measured window. */
  rss_mb: number;
  rss_peak_mb: number;
  /** Engine heap in use after a full GC (main + workers): end of run minus end of warm-up. null if not measured. */
  heap_growth_mb: number | null;
  heap_start_mb: number | null;
  heap_end_mb: number | null;
  /** The same per thread: main (orchestrator + engine control) and each worker (engine shards). */
  heap_by_thread_mb: { main_start: number; main_end: number; workers_start: number[]; workers_end: number[] } | null;
  /** Datagrams the engine's legs received / sent from the end of warm-up to the end of the drain. */
  packets_in: number;
  packets_out: number;
  frames_sent: number;
  frames_received: number;
  directions: { a_to_b: DirectionReport; b_to_a: DirectionReport };
  engine: EngineCounters;
  generator: GeneratorHealth;
  /** System-wide UDP RcvbufErrors delta over the measured run (engine, generator and anything else on the host). */
  rcvbuf_errors: number | null;
  sndbuf_errors: number | null;
  machine: MachineInfo & { loadavg_1m_at_end: number };
  /** The targets for this machine, checked against this run. */
  targets: {
    loss_below_0_1_pct: boolean;
    pacing_jitter_p99_at_most_2_ms: boolean;
    latency_p50_at_most_30_ms: boolean;
    no_heap_growth: boolean | null;
  };
  impairment: ImpairmentReport;
  /** Latency of every measured frame (both directions), coarse buckets: [lower edge ms, frames]; beyond the last bucket: overflow. */
  latency_histogram: { bucket_ms: number; buckets: Array<[number, number]>; overflow: number };
  /** Per-second samples over the whole run. */
  timeline: TimelineSample[];
  /** null unless the run was a ramp. */
  ramp: RampReport | null;
}

/** Heap growth below this (after a full GC) is noise: V8 code and metadata caches settle, not a leak. */
export const HEAP_GROWTH_TOLERANCE_MB = 2;

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function reportToJson(report: LoadTestReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const mark = (ok: boolean | null): string => (ok === null ? '?' : ok ? 'ok' : 'MISSED');

/** The human-readable summary printed at the end of a run. */
export function formatReport(r: LoadTestReport): string {
  const d = (x: DirectionReport): string =>
    `sent ${x.sent}, received ${x.received}, lost ${x.lost} (${x.loss_pct}%), p50 ${x.latency_p50_ms} ms, p99 ${x.latency_p99_ms} ms, max ${x.latency_max_ms} ms`;
  const drops = Object.entries(r.engine.rx_dropped)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [
    `tandem loadtest: ${r.pairs} pairs, ${r.seconds} s measured after ${r.warmup_seconds} s warm-up, ${r.workers} engine workers (nice ${r.worker_nice.join('/') || '?'}, io ${r.io}), ${r.codec}, ${r.audio_source} audio`,
    `  machine          ${r.machine.cpu_model}, ${r.machine.cores} cores, node ${r.machine.node}, load ${r.machine.loadavg_1m_at_start} → ${r.machine.loadavg_1m_at_end}`,
    `  loss             ${r.loss_pct} %   [target < 0.1 %: ${mark(r.targets.loss_below_0_1_pct)}]`,
    `  latency          p50 ${r.latency_p50_ms} ms, p99 ${r.latency_p99_ms} ms   [target p50 ≤ 30 ms: ${mark(r.targets.latency_p50_at_most_30_ms)}]`,
    `  pacing jitter    p50 ${r.pacing_jitter_p50_ms} ms, p99 ${r.pacing_jitter_p99_ms} ms   [target p99 ≤ 2 ms: ${mark(r.targets.pacing_jitter_p99_at_most_2_ms)}]`,
    `  engine CPU       ${r.cpu_pct} % of one core (run-queue wait ${r.cpu_wait_pct ?? '?'} %);  RSS ${r.rss_mb} MB (peak ${r.rss_peak_mb} MB)`,
    `  engine heap      ${r.heap_start_mb ?? '?'} → ${r.heap_end_mb ?? '?'} MB after GC, growth ${r.heap_growth_mb ?? '?'} MB over ${r.packets_in + r.packets_out} packets   [no growth: ${mark(r.targets.no_heap_growth)}]`,
    `  heap by thread   main ${r.heap_by_thread_mb?.main_start ?? '?'} → ${r.heap_by_thread_mb?.main_end ?? '?'} MB; workers ${r.heap_by_thread_mb?.workers_start.join('/') ?? '?'} → ${r.heap_by_thread_mb?.workers_end.join('/') ?? '?'} MB`,
    `  packets          engine in ${r.packets_in}, out ${r.packets_out};  frames sent ${r.frames_sent}, received ${r.frames_received}`,
    `  A→B              ${d(r.directions.a_to_b)}`,
    `  B→A              ${d(r.directions.b_to_a)}`,
    `  engine counters  drops{${drops}} jitter lost ${r.engine.jitter_lost}, late ${r.engine.jitter_late}, concealed ${r.engine.jitter_concealed}, overflow ${r.engine.jitter_overflow}, accelerated ${r.engine.jitter_accelerated ?? '?'}, flushed ${r.engine.jitter_flushed ?? '?'}, mean target depth ${r.engine.jitter_target_ms_avg} ms; tx errors ${r.engine.tx_errors}; late ticks ${r.engine.late_ticks}, skipped ticks ${r.engine.skipped_ticks}, max tick lateness ${r.engine.max_tick_lateness_ms} ms`,
    `  generator        ${r.generator.threads} threads, CPU ${r.generator.cpu_pct} % (wait ${r.generator.cpu_wait_pct ?? '?'} %), send lateness p99 ${r.generator.send_late_p99_ms} ms (max ${r.generator.send_late_max_ms}), skipped ${r.generator.skipped_sends}, untagged ${r.generator.untagged_frames}, stale ${r.generator.stale_frames}, bad ${r.generator.bad_packets}`,
    `  UDP (host-wide)  RcvbufErrors +${r.rcvbuf_errors ?? '?'}, SndbufErrors +${r.sndbuf_errors ?? '?'}`,
  ];
  const i = r.impairment;
  if (i.applied) {
    lines.push(
      `  impairment       jitter 0..${i.jitter_ms} ms, loss ${i.loss_pct} %, reorder ${i.reorder_pct} %: dropped ${i.dropped_frames} frames, reordered ${i.reordered_packets}, delayed ${i.delayed_packets} (wheel overflow ${i.delay_overflow}); end-to-end loss ${i.end_to_end_loss_pct} % (the loss above is the engine's alone)`,
    );
  }
  if (r.ramp) {
    const p = r.ramp;
    lines.push(
      `  ramp             +${p.pairs_per_second} pairs/s up to ${p.max_pairs}, stopped because: ${p.stopped_because}; knee ${p.knee_pairs ?? 'none'} pairs (loss ≤ ${p.loss_threshold_pct} %, p99 ≤ ${p.latency_threshold_ms} ms per 1 s window)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
