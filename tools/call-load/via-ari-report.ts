import { SETUP_STEPS } from './setup-observer.js';
import type { LatencySummary, ViaAriReport } from './via-ari.js';

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
