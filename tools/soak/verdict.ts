import { round } from './probes.js';
import type { DrainReport, PhaseReport, SoakSample } from './types.js';

/** Tandem's bound on concurrent ARI connections (`tandem start`'s default): its keep-alive pool may hold this many sockets idle. */
export const ARI_POOL_FDS = 40;
/** Each fault must be recovered from within this long. */
export const RECOVERY_LIMIT_MS = 5000;
/**
 * Idle-to-idle growth of fds other than ARI connections still allowed: a PostgreSQL pool (up to 10,
 * idled out after 10 s) may hold a few more or fewer; a per-call leak shows as hundreds over a phase.
 */
export const OTHER_FD_TOLERANCE = 10;
const HEAP_FLOOR_LIMIT_MB = 30;
/**
 * The liveness check the soak gives the node's Tandem-protocol client (docs/media-streaming-protocol.md
 * §6): a stall longer than interval + timeout must have been detected and reported as an error.
 */
export const SOAK_LIVENESS = { intervalMs: 500, timeoutMs: 1500 } as const;
const STALL_DETECTION_MS = SOAK_LIVENESS.intervalMs + SOAK_LIVENESS.timeoutMs;

/** Anything leaked or lost fails the run: one line of evidence per reason. */
export function judge(phases: readonly PhaseReport[], samples: readonly SoakSample[], drain: DrainReport | null): { failures: string[]; heapFloor: number | null } {
  const failures: string[] = [];
  for (const p of phases) {
    const l = p.leftovers;
    if (l.channels + l.bridges > 0 || (l.leases ?? 0) > 0 || (l.engine_sockets ?? 0) > 0) failures.push(`${p.name}: leftovers after settling ${JSON.stringify(l)}`);
    if (p.double_grants > 0) failures.push(`${p.name}: ${p.double_grants} pair(s) granted to two callers at once`);
    const dropped = Object.values(p.dropped).reduce((a, b) => a + b, 0);
    if (dropped > 0) failures.push(`${p.name}: ${dropped} set-up call(s) dropped ${JSON.stringify(p.dropped)}`);
    if (p.fault === 'none') {
      const failed = Object.values(p.failed).reduce((a, b) => a + b, 0);
      if (failed > 0) failures.push(`${p.name}: ${failed} call(s) never set up without any fault ${JSON.stringify(p.failed)}${p.failed_evidence.length > 0 ? ` (${p.failed_evidence.join('; ')})` : ''}`);
    }
    // Idle to idle, Tandem's ARI client keeps up to its connection bound (40) of keep-alive sockets to
    // Asterisk, closed as they idle out and regrown by the next burst: those move fds by tens either way
    // (docs/soak.md). So the ARI connections are judged against their bound, and the other fds on their own.
    if (p.name !== 'warmup' && p.fd_growth !== null) {
      if (p.other_fd_growth !== null && p.ari_connection_growth !== null) {
        if (p.other_fd_growth > OTHER_FD_TOLERANCE) failures.push(`${p.name}: file descriptors other than ARI connections grew by ${p.other_fd_growth} idle to idle (all fds ${p.fd_growth})`);
        if (p.ari_connection_growth > ARI_POOL_FDS) failures.push(`${p.name}: ARI connections grew by ${p.ari_connection_growth} idle to idle, beyond the client's bound`);
      } else if (p.fd_growth > ARI_POOL_FDS) failures.push(`${p.name}: file descriptors grew by ${p.fd_growth} idle to idle`);
    }
    const skipped = p.fault_note === null || p.fault_note.startsWith('skipped');
    if (p.fault !== 'none' && p.recovery_ms === null && !skipped) failures.push(`${p.name}: no call set up after the fault`);
    if (p.recovery_ms !== null && p.recovery_ms > RECOVERY_LIMIT_MS) failures.push(`${p.name}: recovered only after ${p.recovery_ms} ms (> ${RECOVERY_LIMIT_MS})`);
    if ((p.fault === 'ami-drop' || p.fault === 'postgres-unreachable') && !skipped) {
      if (p.link_recovery_ms === null) failures.push(`${p.name}: the node never reported the link up again`);
      else if (p.link_recovery_ms > RECOVERY_LIMIT_MS) failures.push(`${p.name}: link up again only after ${p.link_recovery_ms} ms (> ${RECOVERY_LIMIT_MS})`);
    }
    // A stall that caught no session proved nothing; a provider that never answered again did not recover.
    if (p.fault === 'provider-stall' && !skipped) {
      const stall = p.provider_stall;
      if (stall === null || stall.sessions_caught === 0) failures.push(`${p.name}: the stall caught no provider session`);
      else if (stall.provider_recovery_ms === null) failures.push(`${p.name}: the provider never answered a session after the stall`);
      else if (stall.provider_recovery_ms > RECOVERY_LIMIT_MS) failures.push(`${p.name}: the provider answered again only after ${stall.provider_recovery_ms} ms (> ${RECOVERY_LIMIT_MS})`);
      // Tandem must notice a stall its liveness check had time to see: a silent provider is a bug.
      if (stall !== null && stall.sessions_caught > 0 && stall.stalled_ms >= STALL_DETECTION_MS) {
        if (stall.node_translation_errors === null) failures.push(`${p.name}: the node's translation errors could not be read across the stall`);
        else if (stall.node_translation_errors === 0) failures.push(`${p.name}: a ${stall.stalled_ms} ms stall went unnoticed (tandem_translation_errors_total +0)`);
      }
    }
    // Records of calls that ended while PostgreSQL was cut are within its reach; anywhere else one lost is a failure.
    if (p.records && p.records.stored < p.records.ended && p.fault !== 'postgres-unreachable') {
      failures.push(`${p.name}: ${p.records.ended - p.records.stored} call record(s) of ${p.records.ended} not stored`);
    }
  }
  // Heap used between collections swings by tens of MB with load: a leak shows as a rising floor.
  const heapFloor = heapFloorGrowth(samples);
  if (heapFloor !== null && heapFloor > HEAP_FLOOR_LIMIT_MB) failures.push(`heap floor rose ${heapFloor} MB over the first process's run`);
  if (drain && (drain.exit_code !== 0 || !drain.finished_or_torn_down)) failures.push(`drain: exit ${drain.exit_code ?? drain.exit_signal}, leftovers ${JSON.stringify(drain.leftovers)}`);
  return { failures, heapFloor };
}

/** The first process's lowest heap in the last third of its samples minus that in its first third. */
export function heapFloorGrowth(samples: readonly SoakSample[]): number | null {
  const first = samples.filter((s) => s.pid === samples[0]?.pid && s.heap_used_mb !== null).map((s) => s.heap_used_mb!);
  if (first.length < 9) return null;
  const third = Math.floor(first.length / 3);
  return round(Math.min(...first.slice(-third)) - Math.min(...first.slice(0, third)));
}
