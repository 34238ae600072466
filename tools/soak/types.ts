/** The soak's options and its report (JSON; the HTML report is drawn from it). */

export type FaultName =
  | 'none'
  | 'ari-websocket-drop'
  | 'rtp-garbage'
  | 'redis-pause'
  | 'postgres-unreachable'
  | 'ami-drop'
  | 'http-stall'
  | 'worker-kill'
  | 'node-restart'
  | 'provider-stall';

export interface SoakOptions {
  /** Churned calls in all (split over the phases); default 10,000. */
  calls?: number;
  ratePerSecond?: number;
  maxConcurrent?: number;
  /** Mid-call holding time, uniformly random in [min, max] ms. */
  holdMs?: [number, number];
  /** A call without audio both ways this long after it was placed counts as failed (default 10,000 ms). */
  setupTimeoutMs?: number;
  /** Stop placing calls after this long, whatever is left (the run is bounded in time too). */
  maxSeconds?: number;
  /** Pairs in Redis under a fresh key prefix (and a `redis-pause` fault); memory otherwise. */
  redisUrl?: string;
  /**
   * A PostgreSQL server's URL (a role that may create databases): the soak creates its own database
   * there (dropped at the end), runs Tandem with call records and AMI presence (the simulator's AMI)
   * through a TCP proxy it controls, and adds the `postgres-unreachable` and `ami-drop` faults.
   */
  databaseUrl?: string;
  /** The simulator's HTTP `sessionlimit` (Asterisk's default, 100); the `http-stall` fault takes every session. */
  sessionLimit?: number;
  /** How long a fault with a duration lasts (Redis paused, PostgreSQL cut, HTTP stalled); default 3000 ms. */
  faultMs?: number;
  /** Engine worker threads of `tandem start` (default 1); the `worker-kill` fault terminates worker 0. */
  workers?: number;
  /** false: churn only, no faults. */
  faults?: boolean;
  /** Only these faults, in this order (default: every one that applies). */
  faultList?: readonly FaultName[];
  /**
   * Translate every call (duck mode, so the original stays audible under the translation) through the
   * reference service on 127.0.0.1, which the soak starts; adds the `provider-stall` fault.
   */
  translate?: boolean;
  /** Engine leg ports of `tandem start`. */
  portRange?: { min: number; max: number };
  /** End with a drain (SIGTERM with calls in flight): must exit 0 with everything released. Default true. */
  drain?: boolean;
  seed?: number;
  /** More environment for `tandem start` (e.g. TANDEM_ADOPT_CALLS=false, to see what a restart costs without adoption). */
  tandemEnv?: Readonly<Record<string, string>>;
  onProgress?: (line: string) => void;
}

export interface SoakSample {
  t_s: number;
  pid: number;
  rss_mb: number | null;
  heap_used_mb: number | null;
  fds: number | null;
  /** Of fds: TCP connections to Asterisk's HTTP server (the ARI client's keep-alive pool and event WebSocket). */
  ari_connections: number | null;
  /** Engine UDP sockets in the leg port range. */
  sockets: number | null;
  leases: number | null;
  channels: number;
  bridges: number;
  calls_up: number;
  /** Setup times (placed → audio both ways) of the calls set up since the previous sample, p50 and p99. */
  setup_p50_ms: number | null;
  setup_p99_ms: number | null;
}

export interface Leftovers {
  channels: number;
  bridges: number;
  leases: number | null;
  engine_sockets: number | null;
}

export interface PhaseReport {
  name: string;
  fault: FaultName;
  /** Run time (s, from the soak's start) the fault was injected and when it ended: the plots mark it. */
  fault_window_s: [number, number] | null;
  attempted: number;
  set_up: number;
  completed: number;
  /** Hung up on purpose before set up (the `ringing` moment): not a failure. */
  abandoned: number;
  /** Never set up (rejected, torn down while setting up, or no audio within the setup timeout), by reason. */
  failed: Record<string, number>;
  /** The first few calls that timed out in setup, with what their phones and legs had heard. */
  failed_evidence: string[];
  /** Set up, then ended by Tandem before the driver hung up, or silent after a fault it was up across: a dropped call. */
  dropped: Record<string, number>;
  /** Calls the fault took by definition (their pairs were on the worker killed): torn down, not judged as dropped. */
  lost_within_reach: number;
  /** Calls set up before the fault and up after it, whose audio was checked after it (each one not dropped carried audio). */
  checked_after_fault: number;
  /** Pairs seen holding two callers at once during the phase (a pair granted twice); must be 0. */
  double_grants: number;
  setup_p50_ms: number | null;
  setup_p99_ms: number | null;
  /** How long the fault lasted (a restart: kill → the new process connected); calls wait meanwhile. */
  fault_ms: number | null;
  /** Fault over → the first call placed after it heard audio both ways (null: no fault, or none recovered). */
  recovery_ms: number | null;
  /** Fault over → the node's `tandem_link_up` for the link the fault cut said 1 again (AMI, PostgreSQL). */
  link_recovery_ms: number | null;
  fault_note: string | null;
  /** Calls the node ended in this phase and the call records it stored in PostgreSQL for them (with a database). */
  records: { ended: number; stored: number } | null;
  /** The provider-stall fault: what the stalled provider caught and what the node noticed. */
  provider_stall: ProviderStallReport | null;
  /** Once the phase's calls ended and Tandem settled. */
  leftovers: Leftovers;
  /** Idle → idle across the phase (same process; null across a restart). Heap used here swings with GC timing: reported, judged by the floor. */
  fd_growth: number | null;
  /** Of fd_growth: the ARI client's connections to Asterisk's HTTP server (its keep-alive pool regrowing). */
  ari_connection_growth: number | null;
  /** fd_growth less the ARI connections: what a leak elsewhere would show in. */
  other_fd_growth: number | null;
  heap_growth_mb: number | null;
  duration_s: number;
}

export interface ProviderStallReport {
  stalled_ms: number;
  /** Provider sessions that received audio, or had something to send, while it stalled. */
  sessions_caught: number;
  /** Audio the provider read (accepted) while stalled: Tandem kept streaming to it. */
  audio_bytes_accepted: number;
  /** Messages (started, transcripts, audio, marks) the provider held back. */
  messages_withheld: number;
  /** Release → the provider's first message to a session after it (its recovery as Tandem sees it). */
  provider_recovery_ms: number | null;
  /** The node's `tandem_translation_errors_total` across the phase: what Tandem reported of the stall. */
  node_translation_errors: number | null;
}

export interface DrainReport {
  calls_in_flight: number;
  exit_code: number | null;
  exit_signal: string | null;
  finished_or_torn_down: boolean;
  leftovers: Leftovers;
}

export interface SoakReport {
  mode: 'soak';
  tandem_command: string;
  store: 'memory' | 'redis';
  database: boolean;
  /** Calls translated through the reference service (`--translate`). */
  translate: boolean;
  calls_planned: number;
  rate_per_s: number;
  max_concurrent: number;
  hold_ms: [number, number];
  phases: PhaseReport[];
  drain: DrainReport | null;
  samples: SoakSample[];
  duration_s: number;
  stopped_by_time_limit: boolean;
  /** The first process's lowest heap used in the last third of its samples minus that in the first third. */
  heap_floor_growth_mb: number | null;
  verdict: 'pass' | 'fail';
  /** Each reason for a failing verdict, with its evidence. */
  failures: string[];
}
