import { errorMessage } from '../../common/src/errors.js';
import { logger } from '../../common/src/logger.js';
import type { EngineStats, MediaEngine } from '../../engine/src/engine.js';
import { round, type EngineCounters } from './report.js';

const log = logger('loadtest');

/** The engine's stats, or null (logged) when they cannot be read: the report then says less, the run goes on. */
export async function engineStats(engine: MediaEngine): Promise<EngineStats | null> {
  try {
    return await engine.stats();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'engine stats failed');
    return null;
  }
}

export interface EngineTotals extends EngineCounters {
  rx: number;
  tx: number;
  legs: number;
  targetMsSum: number;
}

export function engineTotals(stats: EngineStats | null): EngineTotals {
  const t: EngineTotals = {
    rx: 0,
    tx: 0,
    legs: 0,
    targetMsSum: 0,
    jitter_target_ms_avg: 0,
    rx_dropped: {},
    jitter_lost: 0,
    jitter_late: 0,
    jitter_concealed: 0,
    jitter_overflow: 0,
    jitter_accelerated: null,
    jitter_flushed: null,
    tx_errors: 0,
    tx_skipped_not_connected: 0,
    late_ticks: 0,
    skipped_ticks: 0,
    max_tick_lateness_ms: 0,
  };
  for (const shard of stats?.shards ?? []) {
    t.late_ticks += shard.lateTicks;
    t.skipped_ticks += shard.skippedTicks;
    t.max_tick_lateness_ms = Math.max(t.max_tick_lateness_ms, shard.maxTickLatenessMs);
    for (const pair of shard.pairStats) {
      for (const leg of [pair.legA, pair.legB]) {
        t.rx += leg.rxPackets;
        t.tx += leg.txPackets;
        t.tx_errors += leg.txErrors;
        t.tx_skipped_not_connected += leg.txSkippedNotConnected;
        t.jitter_lost += leg.jitter.lost;
        t.jitter_late += leg.jitter.late;
        t.jitter_concealed += leg.jitter.concealed;
        t.jitter_overflow += leg.jitter.overflow;
        t.legs++;
        t.targetMsSum += leg.jitter.targetMs;
        // Not in LegStats yet (the jitter buffer counts them): read when the engine starts reporting them.
        const extra = leg.jitter as unknown as Record<string, unknown>;
        for (const [key, field] of [['accelerated', 'jitter_accelerated'], ['flushed', 'jitter_flushed']] as const) {
          const v = extra[key];
          if (typeof v === 'number') t[field] = (t[field] ?? 0) + v;
        }
        for (const [reason, n] of Object.entries(leg.rxDropped)) t.rx_dropped[reason] = (t.rx_dropped[reason] ?? 0) + n;
      }
    }
  }
  return t;
}

export function engineDelta(a: EngineTotals, b: EngineTotals): EngineTotals {
  const rx_dropped: Record<string, number> = {};
  for (const [reason, n] of Object.entries(b.rx_dropped)) {
    const d = n - (a.rx_dropped[reason] ?? 0);
    if (d !== 0) rx_dropped[reason] = d;
  }
  return {
    rx: b.rx - a.rx,
    tx: b.tx - a.tx,
    legs: b.legs,
    targetMsSum: b.targetMsSum,
    // A level, not a counter: the end value.
    jitter_target_ms_avg: b.legs > 0 ? round(b.targetMsSum / b.legs, 1) : 0,
    rx_dropped,
    jitter_lost: b.jitter_lost - a.jitter_lost,
    jitter_late: b.jitter_late - a.jitter_late,
    jitter_concealed: b.jitter_concealed - a.jitter_concealed,
    jitter_overflow: b.jitter_overflow - a.jitter_overflow,
    jitter_accelerated: b.jitter_accelerated === null ? null : b.jitter_accelerated - (a.jitter_accelerated ?? 0),
    jitter_flushed: b.jitter_flushed === null ? null : b.jitter_flushed - (a.jitter_flushed ?? 0),
    tx_errors: b.tx_errors - a.tx_errors,
    tx_skipped_not_connected: b.tx_skipped_not_connected - a.tx_skipped_not_connected,
    late_ticks: b.late_ticks - a.late_ticks,
    skipped_ticks: b.skipped_ticks - a.skipped_ticks,
    // The engine keeps a running maximum: the end value is the best we know.
    max_tick_lateness_ms: round(b.max_tick_lateness_ms),
  };
}
