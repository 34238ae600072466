import type { OperationComparison } from './hot-path-compare.js';

// The figures `npm run bench:native` reports: run-native.ts runs it, pairs-search.ts finds the sustained pairs.

/** Loss at or above which a run does not count as sustained. */
export const LOSS_THRESHOLD_PCT = 0.1;

export type SearchSide = 'tandem' | 'c_mmsg';

export interface BenchMachine {
  cpu_model: string;
  cores: number;
  node: string;
  platform: string;
  compiler: string;
  /** 1, 5 and 15 minute load averages. */
  loadavg: number[];
  loadavg_at_end: number[];
}

export interface EngineComparison {
  pairs: number;
  seconds: number;
  tandem: EngineRun;
  c_mmsg: EngineRun;
  c_socket: EngineRun;
  /** The Node relay (node-relay.ts): what the same forwarding costs in Node with nothing of Tandem around it. */
  node_relay: EngineRun;
  engine_cpu_ratio_vs_socket: number | null;
}

/** What `--json FILE` writes. Ratios are Tandem ÷ C; null where a side produced no figure. */
export interface NativeBenchReport {
  command: string;
  finished_at: string;
  elapsed_s: number;
  machine: BenchMachine;
  hot_path_ratio: number;
  hot_path_ratio_batched: number;
  engine_cpu_ratio: number | null;
  /** Tandem ÷ the Node relay, CPU per relayed packet: Tandem's own overhead over Node's dgram floor. */
  engine_cpu_ratio_vs_node_relay: number | null;
  /** The Node relay ÷ the C relay (mmsg), CPU per relayed packet: what Node's dgram path costs over C's. */
  node_relay_cpu_ratio_vs_c: number | null;
  engine_pairs_ratio: number | null;
  hot_path: { rounds: number; ms_per_operation: number; operations: OperationComparison[] };
  engine: EngineComparison | null;
  pairs_search: PairsSearch | null;
  targets: {
    hot_path_within_3x: boolean;
    engine_cpu_within_2_5x: boolean | null;
    engine_pairs_at_least_half: boolean | null;
    tandem_at_least_800_pairs: boolean | null;
  };
}

/** The engine-side figures taken from one run, whichever implementation ran it. */
export interface EngineRun {
  variant: string;
  pairs: number;
  loss_pct: number;
  cpu_pct: number;
  cpu_s: number;
  /** Packets the engine (or relay) received and sent in the measured window. */
  packets_in: number;
  packets_out: number;
  /**
   * min(in, out): a relayed packet is one received and one sent. Tandem also
   * sends concealment frames it never received (out > in), and under overload
   * receives more than it sends; the minimum counts neither as relayed.
   */
  relayed_packets: number;
  /** Process CPU over the window ÷ relayed packets, microseconds. */
  cpu_us_per_packet: number;
  /** How late the generator itself sent (p99): high values mean the generator, not the relay, was the limit. */
  generator_send_late_p99_ms: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  sustained: boolean;
  /** Wall time of the whole run, setup and teardown included. */
  run_s: number;
  /** Why the run produced no figures (it then counts as not sustained). */
  error?: string;
  /** Tandem's runs: which socket I/O path the engine used. */
  io?: 'native' | 'dgram';
}

export interface PairsSearch {
  seconds: number;
  loss_threshold_pct: number;
  tandem: EngineRun[];
  c_mmsg: EngineRun[];
  /** Highest step each passed (0 when none); `censored`: the side never failed, so its limit is at least that. */
  tandem_sustained_pairs: number;
  c_sustained_pairs: number;
  tandem_censored: boolean;
  c_censored: boolean;
  /** Steps left out because the time budget ran out. */
  skipped_steps: number[];
  /** Failed steps run a second time because the generator itself was late (the machine was busy); the second run decides. */
  retried_steps: Array<{ side: SearchSide; pairs: number }>;
}

export function describeRun(r: EngineRun): string {
  const variant = r.io === undefined ? r.variant : `${r.variant} (${r.io})`;
  if (r.error !== undefined) return `${variant.padEnd(15)} ${String(r.pairs).padStart(5)} pairs  FAILED: ${r.error}`;
  return (
    `${variant.padEnd(15)} ${String(r.pairs).padStart(5)} pairs  loss ${r.loss_pct.toFixed(3).padStart(7)} %  ` +
    `cpu ${r.cpu_pct.toFixed(1).padStart(5)} %  ${r.cpu_us_per_packet.toFixed(2).padStart(6)} µs/pkt  ` +
    `latency p50 ${r.latency_p50_ms} ms p99 ${r.latency_p99_ms} ms  generator late p99 ${r.generator_send_late_p99_ms} ms  (${r.run_s} s)`
  );
}
