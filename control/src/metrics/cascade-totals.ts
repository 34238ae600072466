import type { PairStats } from '../../../engine/src/index.js';

/**
 * A pair's cascade counters (docs/cascade.md) as flat totals, read from its
 * translation stage stats: early translations by outcome, and each offline
 * fallback's switches and calls by part. The stage stats are plain objects
 * (each provider reports its own shape), so they are read defensively: a
 * pair that is not a cascade, or lacks a part, contributes nothing.
 */
export type CascadeTotals = Record<string, number>;

export const EARLY_OUTCOMES = ['started', 'reused', 'extended', 'replaced', 'failed'] as const;
export const FALLBACK_PARTS = ['translator', 'synthesizer'] as const;

const record = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null);
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** Keys: `early.<outcome>`, `<part>.toFallback`, `<part>.toCloud`, `<part>.fallbackCalls`. */
export function cascadeTotals(pair: PairStats): CascadeTotals {
  const out: CascadeTotals = {};
  const add = (key: string, n: number): void => {
    if (n > 0) out[key] = (out[key] ?? 0) + n;
  };
  const stages = record(pair.translation?.stages);
  if (stages === null) return out;
  for (const stage of Object.values(stages)) {
    const speech = record(record(stage)?.['speech']);
    if (speech === null) continue;
    const early = record(speech['early']);
    if (early !== null) for (const o of EARLY_OUTCOMES) add(`early.${o}`, count(early[o]));
    for (const part of FALLBACK_PARTS) {
      const f = record(speech[part]);
      if (f === null || !('switchedToFallback' in f)) continue;
      add(`${part}.toFallback`, count(f['switchedToFallback']));
      add(`${part}.toCloud`, count(f['switchedToCloud']));
      add(`${part}.fallbackCalls`, count(f['fallbackCalls']));
    }
  }
  return out;
}
