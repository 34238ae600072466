import type { EngineStats } from '../../engine/src/engine.js';
import { round } from './report.js';
import type { TranslationSection } from './translation-report.js';

/**
 * The engine's counters a translation run compares at both ends of its
 * window, reduced from one stats() call at once (the per-pair objects must not
 * stay in the heap the end probe measures).
 */
export interface EngineSnapshot {
  rx: number;
  tx: number;
  workerHeapBytes: number;
  /** Leg counters (rx drops by reason, jitter buffer counters) summed over every leg. */
  legs: Record<string, number>;
  /** Stage counters summed over every translated direction (StreamingStage stats, framesOffered, vadErrors). */
  stages: Record<string, number>;
  /** The workers' VAD counters, summed (absent before a worker has loaded its VAD). */
  vad: Record<string, number>;
}

const VAD_COUNTERS = ['inferences', 'batches', 'skippedByGate', 'preRolled', 'warmed', 'droppedChunks', 'errors'] as const;

/** The VAD section from the window's counter deltas. */
export function vadSection(d: Record<string, number> | null): TranslationSection['vad'] {
  if (d === null || Object.keys(d).length === 0) return null;
  const n = (key: (typeof VAD_COUNTERS)[number]): number => d[key] ?? 0;
  // Pre-rolled and warmed chunks are counted by the gate and by the model: once each is the audio.
  const heard = n('inferences') + n('skippedByGate') - n('preRolled') - n('warmed');
  return {
    model_chunks: n('inferences'),
    gated_chunks: n('skippedByGate'),
    pre_rolled: n('preRolled'),
    dropped_chunks: n('droppedChunks'),
    errors: n('errors'),
    batches: n('batches'),
    mean_batch_size: n('batches') > 0 ? round(n('inferences') / n('batches'), 1) : null,
    model_share: heard > 0 ? round(n('inferences') / heard, 3) : null,
  };
}

/** Levels, not counters: a difference of two says nothing. */
const LEVELS = new Set(['connected', 'queuedSamples', 'depthMs', 'targetMs', 'jitterMs']);

function add(into: Record<string, number>, key: string, value: unknown): void {
  if (typeof value === 'number' && Number.isFinite(value) && !LEVELS.has(key)) into[key] = (into[key] ?? 0) + value;
}

/** Reduces engine stats at once: the per-pair objects must not stay in the heap the end probe measures. */
export function snapshotEngine(stats: EngineStats): EngineSnapshot {
  const s: EngineSnapshot = { rx: 0, tx: 0, workerHeapBytes: 0, legs: {}, stages: {}, vad: {} };
  for (const shard of stats.shards) {
    s.workerHeapBytes += shard.heapUsedBytes;
    if (shard.vad) for (const key of VAD_COUNTERS) add(s.vad, key, shard.vad[key]);
    for (const pair of shard.pairStats) {
      for (const leg of [pair.legA, pair.legB]) {
        s.rx += leg.rxPackets;
        s.tx += leg.txPackets;
        for (const [key, value] of Object.entries(leg.jitter)) add(s.legs, `jitter_${key}`, value);
        for (const [reason, n] of Object.entries(leg.rxDropped)) add(s.legs, `rx_dropped_${reason}`, n);
      }
      for (const stage of Object.values(pair.translation?.stages ?? {})) {
        const { speech, ...own } = stage as { speech?: unknown } & Record<string, unknown>;
        for (const [key, value] of Object.entries(own)) add(s.stages, key, value);
        if (speech !== null && typeof speech === 'object') {
          for (const [key, value] of Object.entries(speech)) {
            // A cascade's stage nests its recognizer's counters (audio sent, drops before the socket): summed beside the
            // stage's, so the provider-path line and its drop target read them; one the stage also has is prefixed.
            if (key !== 'recognizer' || value === null || typeof value !== 'object') add(s.stages, key, value);
            else for (const [k, v] of Object.entries(value as Record<string, unknown>)) add(s.stages, k in speech ? `recognizer_${k}` : k, v);
          }
        }
      }
    }
  }
  return s;
}

/** end − start for every key of end (a pair's counters only grow while it is open, and every pair stays open). */
export function delta(start: Record<string, number> | undefined, end: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(end)) out[key] = value - (start?.[key] ?? 0);
  return out;
}
