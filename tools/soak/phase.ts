import type { AsteriskSimulator } from '../asterisk-simulator/ari/index.js';
import type { Call, CallDriver } from './call-driver.js';
import { injectFault, type FaultTargets } from './faults.js';
import { percentile, round, sleep } from './probes.js';
import type { SoakDatabase } from './soak-database.js';
import type { SoakNode } from './soak-node.js';
import type { StallReport } from '../reference-service/reference-service.js';
import type { FaultName, Leftovers, PhaseReport, ProviderStallReport } from './types.js';

/** How long the end of a phase waits for Tandem to release everything. */
const SETTLE_TIMEOUT_MS = 20_000;
/** Past its count, a fault phase places calls on until one sets up after the fault, for up to this long. */
const RECOVERY_WINDOW_MS = 15_000;

export interface PhaseContext {
  sim: AsteriskSimulator;
  node: SoakNode;
  driver: CallDriver;
  faults: FaultTargets;
  database: SoakDatabase | null;
  rate: number;
  maxConcurrent: number;
  /** The soak's start (ms): fault windows are reported relative to it. */
  started: number;
  timeUp: () => boolean;
}

/**
 * One phase: `count` calls at the rate, the fault injected a third of the way in (calls run on
 * through it unless it blocks), then everything settles and is counted.
 */
export async function runPhase(ctx: PhaseContext, name: string, fault: FaultName, count: number): Promise<PhaseReport> {
  const { driver, node } = ctx;
  const phaseStart = Date.now();
  const doubleGrantsBefore = driver.doubleGrants;
  const idleBefore = { pid: node.pid, fds: await node.idleFds(), heap: await node.heapMb(), ended: await node.callsEnded(), stored: await ctx.database?.callRecords(), translationErrors: await node.translationErrors() };
  // Calls are scheduled from here, after the idle reads, so the phase does not open with a burst catching up on them.
  const scheduleStart = Date.now();
  const phaseCalls: Call[] = [];
  const faultAfter = fault === 'none' ? Infinity : Math.floor(count / 3);
  let injectedAt: number | null = null;
  let faultAt: number | null = null;
  let faultNote: string | null = null;
  let faultMs: number | null = null;
  let pausedMs = 0;
  let recoveryMs: number | null = null;
  let linkRecovery: Promise<number | null> = Promise.resolve(null);
  let stall: Promise<StallReport> | null = null;
  const poller = setInterval(() => {
    driver.poll(phaseCalls);
    if (faultAt !== null && recoveryMs === null) {
      const recovered = phaseCalls.find((c) => c.placedAt >= faultAt! && c.setUpAt !== null);
      if (recovered) recoveryMs = recovered.setUpAt! - faultAt;
    }
  }, 20);
  try {
    const more = (i: number): boolean =>
      i < count || (injectedAt !== null && recoveryMs === null && (faultAt === null || Date.now() - faultAt < RECOVERY_WINDOW_MS));
    for (let i = 0; more(i) && !ctx.timeUp(); i++) {
      // The schedule resumes after a blocking fault rather than catching up in a burst.
      await sleep(scheduleStart + pausedMs + (i * 1000) / ctx.rate - Date.now());
      while (driver.inFlight >= ctx.maxConcurrent) await sleep(5);
      if (i === faultAfter) {
        const injecting = Date.now();
        injectedAt = injecting;
        driver.faultWindow.startedAt = injecting;
        driver.faultWindow.endedAt = Infinity;
        const injected = await injectFault(fault, ctx.faults);
        faultNote = injected.note;
        stall = injected.stall ?? null;
        if (injected.lostPairs) driver.markWithinReach(phaseCalls, injected.lostPairs);
        if (injected.link) linkRecovery = watchLink(node, injected.link, injected.over);
        const ended = injected.over.then(() => {
          faultAt = Date.now();
          driver.faultWindow.endedAt = faultAt;
          faultMs = faultAt - injecting;
          setTimeout(() => driver.markMediaAfterFault(phaseCalls, injecting), 1000).unref();
        });
        if (injected.blocking) {
          await ended;
          pausedMs += Date.now() - injecting;
        }
      }
      phaseCalls.push(driver.place());
    }
    while (phaseCalls.some((c) => !c.ended)) await sleep(20);
  } finally {
    clearInterval(poller);
    driver.faultWindow.startedAt = Infinity;
    driver.faultWindow.endedAt = Infinity;
  }
  driver.forget(phaseCalls);
  const leftovers = await settle(ctx);
  const linkRecoveryMs = await linkRecovery;
  const providerStall = stall === null ? null : await stallOfPhase(ctx, stall, idleBefore.pid, idleBefore.translationErrors);
  const idleAfter = { pid: node.pid, fds: await node.idleFds(), heap: await node.heapMb() };
  const records = ctx.database ? await recordsOfPhase(ctx, idleBefore.pid, idleBefore.ended, idleBefore.stored ?? 0) : null;
  const samePid = idleBefore.pid === idleAfter.pid;
  const setupTimes = phaseCalls.filter((c) => c.setUpAt !== null).map((c) => c.setUpAt! - c.placedAt).sort((a, b) => a - b);
  const tally = (outcome: Call['outcome']): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const c of phaseCalls) if (c.outcome === outcome) out[c.reason ?? 'unknown'] = (out[c.reason ?? 'unknown'] ?? 0) + 1;
    return out;
  };
  const fdGrowth = samePid && idleBefore.fds && idleAfter.fds ? idleAfter.fds.fds - idleBefore.fds.fds : null;
  const ariGrowth = samePid && idleBefore.fds?.ari != null && idleAfter.fds?.ari != null ? idleAfter.fds.ari - idleBefore.fds.ari : null;
  const since = (ms: number): number => round((ms - ctx.started) / 1000);
  return {
    name,
    fault,
    fault_window_s: injectedAt !== null ? [since(injectedAt), since(faultAt ?? injectedAt)] : null,
    attempted: phaseCalls.length,
    set_up: setupTimes.length,
    completed: phaseCalls.filter((c) => c.outcome === 'completed').length,
    abandoned: phaseCalls.filter((c) => c.outcome === 'abandoned').length,
    failed: tally('failed'),
    failed_evidence: phaseCalls.flatMap((c) => (c.outcome === 'failed' && c.evidence !== null ? [c.evidence] : [])).slice(0, 5),
    dropped: tally('dropped'),
    lost_within_reach: phaseCalls.filter((c) => c.outcome === 'lost').length,
    checked_after_fault: phaseCalls.filter((c) => c.mediaAfterFault !== null).length,
    double_grants: driver.doubleGrants - doubleGrantsBefore,
    setup_p50_ms: percentile(setupTimes, 50),
    setup_p99_ms: percentile(setupTimes, 99),
    fault_ms: faultMs,
    recovery_ms: recoveryMs,
    link_recovery_ms: linkRecoveryMs,
    fault_note: faultNote,
    records,
    provider_stall: providerStall,
    leftovers,
    fd_growth: fdGrowth,
    ari_connection_growth: ariGrowth,
    other_fd_growth: fdGrowth !== null && ariGrowth !== null ? fdGrowth - ariGrowth : null,
    heap_growth_mb: samePid && idleBefore.heap !== null && idleAfter.heap !== null ? round(idleAfter.heap - idleBefore.heap) : null,
    duration_s: round((Date.now() - phaseStart) / 1000),
  };
}

/** What the stalled provider caught, when it answered again, and what the node reported of it. */
async function stallOfPhase(ctx: PhaseContext, stall: Promise<StallReport>, pidBefore: number, errorsBefore: number | null): Promise<ProviderStallReport> {
  const caught = await stall;
  const errorsAfter = ctx.node.pid === pidBefore ? await ctx.node.translationErrors() : null;
  return {
    stalled_ms: caught.stalledMs,
    sessions_caught: caught.sessionsCaught,
    audio_bytes_accepted: caught.audioBytesAccepted,
    messages_withheld: caught.messagesWithheld,
    provider_recovery_ms: ctx.faults.provider?.stallGate.answerAfterReleaseMs ?? null,
    node_translation_errors: errorsBefore !== null && errorsAfter !== null ? errorsAfter - errorsBefore : null,
  };
}

/** Until the simulator and Tandem hold nothing of the phase's calls (or the settle timeout). */
async function settle(ctx: PhaseContext): Promise<Leftovers> {
  const until = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const left: Leftovers = { channels: ctx.sim.channels().length, bridges: ctx.sim.bridges().length, leases: await ctx.node.leases(), engine_sockets: ctx.node.engineSockets() };
    const clean = left.channels === 0 && left.bridges === 0 && (left.leases ?? 0) === 0 && (left.engine_sockets ?? 0) === 0;
    if (clean || Date.now() > until) return left;
    await sleep(100);
  }
}

/**
 * Calls the node ended during the phase and the records stored for them, once its write-behind
 * queue caught up (same process only: a crash loses what it had not written, within its reach).
 */
async function recordsOfPhase(ctx: PhaseContext, pidBefore: number, endedBefore: number | null, storedBefore: number): Promise<{ ended: number; stored: number } | null> {
  if (ctx.node.pid !== pidBefore || endedBefore === null || !ctx.database) return null;
  const until = Date.now() + SETTLE_TIMEOUT_MS;
  let last = { stored: -1, at: Date.now() };
  for (;;) {
    const ended = ((await ctx.node.callsEnded()) ?? endedBefore) - endedBefore;
    const stored = (await ctx.database.callRecords()) - storedBefore;
    if (stored !== last.stored) last = { stored, at: Date.now() };
    // Written, or no progress for 3 s (records dropped in an outage are not coming).
    if (stored >= ended || Date.now() - last.at > 3000 || Date.now() > until) return { ended, stored };
    await sleep(200);
  }
}

/** Fault over → the node says the link is up again; the link must have been seen down first (up to 5 s). */
async function watchLink(node: SoakNode, link: 'ami' | 'postgresql', over: Promise<void>): Promise<number | null> {
  // Seen down first, so a node slow to notice the cut does not pass for one already recovered.
  const seenDownBy = Date.now() + 5000;
  while ((await node.linkUp(link)) !== false && Date.now() < seenDownBy) await sleep(20);
  await over;
  const overAt = Date.now();
  const until = overAt + RECOVERY_WINDOW_MS;
  while (Date.now() < until) {
    if ((await node.linkUp(link)) === true) return Date.now() - overAt;
    await sleep(20);
  }
  return null;
}
