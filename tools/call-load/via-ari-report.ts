import type { Histogram, MachineInfo } from '../media-load/index.js';
import { SETUP_STEPS, type AriOp, type AriOpStats, type SetupStep } from './setup-observer.js';
import type { TandemExit } from './tandem-process.js';
import type { Leftovers, TandemCpu } from './tandem-under-test.js';

export interface LatencySummary {
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface AudioMismatch {
  pair_id: string;
  caller_hears_hz: number;
  legb_hears_hz: number;
}

/** The run's figures; the JSON written by `--json` is exactly this object. */
export interface ViaAriReport {
  mode: 'via-ari';
  /** Where Tandem ran: `tandem start` as its own process, or on the driver's event loop. */
  process_mode: 'node-process' | 'in-process';
  /** The `tandem start` command line (node-process). */
  tandem_command: string | null;
  calls: number;
  placed: number;
  rate_per_s: number;
  achieved_rate_per_s: number;
  hold_s: number;
  ring_ms: number;
  max_concurrent: number;
  pool_size: number;
  /** Pairs kept in Redis (its URL) or in memory (null). */
  redis_url: string | null;
  /** The run's own Redis key prefix (its keys are deleted at the end). */
  redis_key_prefix: string | null;
  set_up: number;
  failed: number;
  rejected: number;
  failures: Record<string, number>;
  rejections: Record<string, number>;
  /** Set-up pairs Tandem tore down before the caller hung up, by reason. */
  early_teardowns: Record<string, number>;
  /** Set-up calls whose phones heard the other party's tone (checked just before hangup). */
  audio_ok: number;
  audio_wrong: number;
  /** Up to 10 calls that heard something else: the zero-crossing frequency each phone heard. */
  audio_wrong_examples: AudioMismatch[];
  /** Caller's StasisStart → both phones heard their first audible frame through the engine (CallTracker). */
  setup_p50_ms: number | null;
  setup_p99_ms: number | null;
  setup_max_ms: number | null;
  /**
   * StasisStart → the media path bridged (caller + externalMedia A, leg B + externalMedia B): the ARI part.
   * In-process: Tandem's `pairactive`; node-process: the simulator served the last of the three joins
   * (a response's trip earlier).
   */
  setup_control: LatencySummary;
  /** Media path bridged → both phones heard audio: the media part (first packets through the engine). */
  setup_media: LatencySummary;
  /** Tandem's own CallPair.setupMs (pair object created → media path bridged; excludes pair allocation). In-process only. */
  setup_tandem_pair: LatencySummary;
  /** Each setup step as the simulator saw it, ms after StasisStart, over set-up calls (SETUP_STEP_MEANING). */
  setup_steps: Record<SetupStep, LatencySummary>;
  /** Setup of the calls placed in each second of the run (set-up calls only). */
  setup_by_second: Array<{ second: number; calls: number; p50_ms: number; max_ms: number }>;
  /** Setup times are observed by polling the phones this often (resolution). */
  poll_interval_ms: number;
  leftovers: Leftovers;
  /** What the simulator did to hangups and bridge destroys (deleteDelayMs, deleteDropRate): delayed, never answered (kept / done). */
  delete_faults: { delayed: number; dropped_kept: number; dropped_deleted: number };
  teardown_complete: boolean;
  /** Last hangup → everything released (null when it never got there). */
  teardown_ms: number | null;
  /** node-process: how `tandem start` ended after SIGTERM. */
  tandem_exit: TandemExit | null;
  /** node-process: `tandem start` exited by itself during the run. */
  tandem_exited_early: boolean;
  /** node-process: lines `tandem start` logged at warn level or above, or on stderr. */
  tandem_warnings: number | null;
  /** Most ARI requests outstanding at once, as Tandem's HTTP client saw them (sent → answer headers). In-process only. */
  ari_max_inflight: number | null;
  /** Most requests open inside the simulator at once (held ones included). */
  ari_max_inflight_server: number;
  /** Most TCP connections open at once at the ARI server: what `sessionlimit` counts. */
  ari_max_connections: number;
  ari_requests: number;
  ari_requests_per_call: number | null;
  /** One ARI request as Tandem's HTTP client saw it (sent → answer headers), including time queued in the event loop. In-process only. */
  ari_request_p50_ms: number | null;
  ari_request_p99_ms: number | null;
  /** Requests by operation, with the simulator's own time per request (parsed → answered). */
  ari_ops: Partial<Record<AriOp, AriOpStats>>;
  /** While Tandem connected (ari-client's API description download), before any call; requests as its client saw them (in-process only). */
  ari_connect_max_inflight: number | null;
  ari_connect_max_connections: number;
  session_limit: number;
  ari_request_bound: number;
  engine_workers: number;
  /** In-process: event-loop utilisation of the engine worker threads, summed, in % of one core. */
  engine_cpu_pct: number | null;
  /** node-process: Tandem's process from /proc. */
  tandem_cpu: TandemCpu | null;
  /** CPU of this process in % of one core: in-process everything; node-process the simulator and the driver. */
  process_cpu_pct: number;
  /** This process's main thread (simulator and driver, in-process also the control plane): % of the run it ran on a CPU. */
  main_thread_cpu_pct: number | null;
  /** % of the run the main thread was runnable but waiting for a CPU held by other threads or processes. */
  main_thread_runqueue_wait_pct: number | null;
  /** The whole machine was busy this much over the run, in % of one core (from /proc/stat). */
  machine_cpu_pct: number | null;
  /** What processes other than the driver and Tandem used meanwhile, in % of one core: a noisy neighbour shows here. */
  other_processes_cpu_pct: number | null;
  /** The main thread was this late on its timers. */
  event_loop_delay_p99_ms: number;
  event_loop_delay_max_ms: number;
  duration_s: number;
  stopped_by_deadline: boolean;
  machine: MachineInfo;
}

/** A figure as the report gives it: `digits` decimals. */
export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** p50, p99 and max of a latency histogram, rounded (nulls when it is empty). */
export function latency(h: Histogram): LatencySummary {
  if (h.count === 0) return { count: 0, p50_ms: null, p99_ms: null, max_ms: null };
  return { count: h.count, p50_ms: round(h.percentile(50)), p99_ms: round(h.percentile(99)), max_ms: round(h.max) };
}

/** Target of issue 5: call setup through the simulator, p99 at 50 new calls per second. */
export const SETUP_P99_TARGET_MS = 100;

const ms = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);
const pct = (v: number | null): string => (v === null ? 'n/a' : `${v} %`);
const num = (v: number | null): string => (v === null ? 'n/a' : String(v));
const triple = (l: LatencySummary): string => `p50 ${ms(l.p50_ms)}  p99 ${ms(l.p99_ms)}  max ${ms(l.max_ms)}  (n=${l.count})`;
const counts = (r: Record<string, number>): string => {
  const entries = Object.entries(r);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
};

function cpuLines(r: ViaAriReport): string[] {
  const main = `main thread ran ${pct(r.main_thread_cpu_pct)} and waited for a CPU ${pct(r.main_thread_runqueue_wait_pct)} of the run`;
  if (r.process_mode === 'in-process') {
    return [`CPU: engine workers ${pct(r.engine_cpu_pct)} of a core (event-loop utilisation), whole process ${r.process_cpu_pct} %; ${main}`];
  }
  const t = r.tandem_cpu;
  return [
    t
      ? `CPU: Tandem (pid of tandem start) ${t.cpu_pct} % of a core: main thread ${t.main_thread_cpu_pct} % (waited for a CPU ${t.main_thread_runqueue_wait_pct} %), ` +
        `other threads (engine workers, GC) ${t.other_threads_cpu_pct} %`
      : 'CPU: Tandem n/a (/proc not readable)',
    `     simulator + driver ${r.process_cpu_pct} % of a core; its ${main}`,
  ];
}

/** The human-readable summary printed by `tandem loadtest --via-ari`. */
export function formatViaAriReport(r: ViaAriReport): string {
  const targetMet = r.setup_p99_ms !== null && r.setup_p99_ms <= SETUP_P99_TARGET_MS;
  const l = r.leftovers;
  const opEntries = Object.entries(r.ari_ops)
    .filter(([, o]) => o !== undefined)
    .map(([op, o]) => `${op} ${o.count} (${ms(o.server_p50_ms)}/${ms(o.server_p99_ms)})`);
  const exit = r.tandem_exit;
  const lines = [
    `tandem loadtest --via-ari (${r.process_mode}): ${r.placed}/${r.calls} calls at ${r.rate_per_s}/s (achieved ${r.achieved_rate_per_s}/s), hold ${r.hold_s} s, ring ${r.ring_ms} ms, ` +
      `≤ ${r.max_concurrent} concurrent, pool ${r.pool_size} (${r.redis_url === null ? 'memory' : 'Redis'}), ${r.engine_workers} engine worker(s)`,
    ...(r.tandem_command === null ? [] : [`tandem: ${r.tandem_command}`]),
    `machine: ${r.machine.cpu_model}, ${r.machine.cores} cores, ${r.machine.node}, load ${r.machine.loadavg_1m_at_start}`,
    `outcome: ${r.set_up} set up, ${r.failed} failed (${counts(r.failures)}), ${r.rejected} rejected (${counts(r.rejections)})`,
    `audio: ${r.audio_ok} calls heard the other party's tone, ${r.audio_wrong} did not; early teardowns: ${counts(r.early_teardowns)}`,
    `setup (StasisStart → both phones heard their first audible frame through the engine): p50 ${ms(r.setup_p50_ms)}  p99 ${ms(r.setup_p99_ms)}  max ${ms(r.setup_max_ms)}` +
      `  — target p99 ≤ ${SETUP_P99_TARGET_MS} ms ${targetMet ? 'met' : 'NOT met'}`,
    `  ARI part (StasisStart → all bridged):      ${triple(r.setup_control)}`,
    `  media part (all bridged → audio both ways): ${triple(r.setup_media)}`,
    ...(r.process_mode === 'in-process' ? [`  Tandem's own pair setupMs:                   ${triple(r.setup_tandem_pair)}`] : []),
    `  steps as the simulator saw them (ms after StasisStart):`,
    ...SETUP_STEPS.map((step) => `    ${step.padEnd(22)} ${triple(r.setup_steps[step])}`),
    `  by second of placement, max ms: ${r.setup_by_second.map((b) => Math.round(b.max_ms)).join(' ')}`,
    `  resolution: phones polled every ${r.poll_interval_ms} ms; driver event-loop delay p99 ${r.event_loop_delay_p99_ms} ms, max ${r.event_loop_delay_max_ms} ms`,
    `teardown: ${r.teardown_complete ? `complete ${r.teardown_ms} ms after the last hangup` : 'INCOMPLETE'} — left: ${l.channels} channels, ${l.bridges} bridges, ` +
      `${num(l.leases)} leases, ${num(l.pairs)} pairs, ${num(l.engine_pairs)} engine pairs, ${num(l.engine_sockets)} engine sockets`,
    ...(r.delete_faults.delayed + r.delete_faults.dropped_kept + r.delete_faults.dropped_deleted === 0
      ? []
      : [`  DELETE faults: ${r.delete_faults.delayed} delayed, ${r.delete_faults.dropped_kept} never answered (kept), ${r.delete_faults.dropped_deleted} never answered (done)`]),
    ...(exit === null
      ? []
      : [
          `tandem start: ${r.tandem_exited_early ? 'EXITED DURING THE RUN; ' : ''}exit code ${num(exit.code)}${exit.signal ? ` (${exit.signal})` : ''} ${exit.stop_ms} ms after SIGTERM` +
            `${exit.killed ? ' — KILLED after the deadline' : ''}; ${num(r.tandem_warnings)} warning line(s)`,
        ]),
    `ARI: ${r.ari_requests} requests (${num(r.ari_requests_per_call)} per call; Tandem's client saw each p50 ${ms(r.ari_request_p50_ms)}, p99 ${ms(r.ari_request_p99_ms)}), ` +
      `at most ${num(r.ari_max_inflight)} in flight at Tandem (${r.ari_max_inflight_server} inside the server) and ${r.ari_max_connections} connections ` +
      `(sessionlimit ${r.session_limit}, Tandem's bound ${r.ari_request_bound}); connecting took ${num(r.ari_connect_max_inflight)} requests / ${r.ari_connect_max_connections} connections at once`,
    `  by operation, count (simulator's own time p50/p99): ${opEntries.join(', ')}`,
    ...cpuLines(r),
    `     the machine was busy ${pct(r.machine_cpu_pct)} of a core (of ${r.machine.cores * 100} %), other processes ${pct(r.other_processes_cpu_pct)}`,
    `${r.duration_s} s${r.stopped_by_deadline ? ' — STOPPED BY DEADLINE' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function viaAriReportToJson(r: ViaAriReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
