import type { LatencySummary, ViaAriReport } from './via-ari.js';

/** Target of issue 5: call setup through the simulator, p99 at 50 new calls per second. */
export const SETUP_P99_TARGET_MS = 100;

const ms = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);
const triple = (l: LatencySummary): string => `p50 ${ms(l.p50_ms)}  p99 ${ms(l.p99_ms)}  max ${ms(l.max_ms)}  (n=${l.count})`;
const counts = (r: Record<string, number>): string => {
  const entries = Object.entries(r);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
};

/** The human-readable summary printed by `tandem loadtest --via-ari`. */
export function formatViaAriReport(r: ViaAriReport): string {
  const targetMet = r.setup_p99_ms !== null && r.setup_p99_ms <= SETUP_P99_TARGET_MS;
  const l = r.leftovers;
  const lines = [
    `tandem loadtest --via-ari: ${r.placed}/${r.calls} calls at ${r.rate_per_s}/s (achieved ${r.achieved_rate_per_s}/s), hold ${r.hold_s} s, ring ${r.ring_ms} ms, ` +
      `≤ ${r.max_concurrent} concurrent, pool ${r.pool_size}, ${r.engine_workers} engine worker(s)`,
    `machine: ${r.machine.cpu_model}, ${r.machine.cores} cores, ${r.machine.node}, load ${r.machine.loadavg_1m_at_start}`,
    `outcome: ${r.set_up} set up, ${r.failed} failed (${counts(r.failures)}), ${r.rejected} rejected (${counts(r.rejections)})`,
    `audio: ${r.audio_ok} calls heard the other party's tone, ${r.audio_wrong} did not; early teardowns: ${counts(r.early_teardowns)}`,
    `setup (StasisStart → both phones heard their first audible frame through the engine): p50 ${ms(r.setup_p50_ms)}  p99 ${ms(r.setup_p99_ms)}  max ${ms(r.setup_max_ms)}` +
      `  — target p99 ≤ ${SETUP_P99_TARGET_MS} ms ${targetMet ? 'met' : 'NOT met'}`,
    `  ARI part (StasisStart → leg B bridged):      ${triple(r.setup_control)}`,
    `  media part (leg B bridged → audio both ways): ${triple(r.setup_media)}`,
    `  Tandem's own pair setupMs:                   ${triple(r.setup_tandem_pair)}`,
    `  resolution: phones polled every ${r.poll_interval_ms} ms; main-thread event-loop delay p99 ${r.event_loop_delay_p99_ms} ms, max ${r.event_loop_delay_max_ms} ms`,
    `teardown: ${r.teardown_complete ? `complete ${r.teardown_ms} ms after the last hangup` : 'INCOMPLETE'} — left: ${l.channels} channels, ${l.bridges} bridges, ` +
      `${l.leases} leases, ${l.pairs} pairs, ${l.engine_pairs} engine pairs, ${l.engine_sockets} engine sockets`,
    `ARI: ${r.ari_requests} requests (each p50 ${ms(r.ari_request_p50_ms)}, p99 ${ms(r.ari_request_p99_ms)} on the wire), at most ${r.ari_max_inflight} in flight (${r.ari_max_inflight_server} inside the server) and ${r.ari_max_connections} connections ` +
      `(sessionlimit ${r.session_limit}, Tandem's bound ${r.ari_request_bound}); connecting took ${r.ari_connect_max_inflight} requests / ${r.ari_connect_max_connections} connections at once`,
    `CPU: engine workers ${r.engine_cpu_pct} % of a core (event-loop utilisation), whole process ${r.process_cpu_pct} %; ` +
      `main thread ran ${r.main_thread_cpu_pct ?? 'n/a'} % and waited for a CPU ${r.main_thread_runqueue_wait_pct ?? 'n/a'} % of the run; ${r.duration_s} s` +
      (r.stopped_by_deadline ? ' — STOPPED BY DEADLINE' : ''),
  ];
  return `${lines.join('\n')}\n`;
}

export function viaAriReportToJson(r: ViaAriReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
