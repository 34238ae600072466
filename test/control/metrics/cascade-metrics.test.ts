import { describe, expect, it } from 'vitest';
import type { EngineStats, PairStats } from '../../../engine/src/index.js';
import { cascadeTotals } from '../../../control/src/metrics/cascade-totals.js';
import { EngineSampler } from '../../../control/src/metrics/engine-sampler.js';
import { NodeMetrics } from '../../../control/src/metrics/node-metrics.js';

const leg = { rxPackets: 0, txPackets: 0, jitter: { played: 0, lost: 0, concealed: 0, late: 0, overflow: 0 } };

/** A translated pair's stats as the engine reports them, with the cascade stage counters given. */
function pair(early: Record<string, number>, translator: Record<string, unknown> | null): PairStats {
  const speech = { early, translator, synthesizer: null };
  return { pairId: 'p1', legA: leg, legB: leg, translation: { languages: { A: 'en', B: 'es' }, provider: 'cascade', directions: ['A->B'], stages: { 'A->B': { speech } } } } as unknown as PairStats;
}

function engineStats(pairs: PairStats[]): EngineStats {
  return { pairs: pairs.length, sockets: 0, shards: [{ threadId: 1, lateTicks: 0, maxTickLatenessMs: 0, pairStats: pairs, vad: null }] } as unknown as EngineStats;
}

const value = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"=,.]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 'NaN');

describe('cascade counters on /metrics', () => {
  it('reads early translations and fallback counters from a cascade stage, nothing from others', () => {
    expect(cascadeTotals(pair({ started: 2, reused: 1 }, { using: 'fallback', switchedToFallback: 1, switchedToCloud: 0, fallbackCalls: 3 }))).toEqual({
      'early.started': 2,
      'early.reused': 1,
      'translator.toFallback': 1,
      'translator.fallbackCalls': 3,
    });
    const plain = { pairId: 'p2', legA: leg, legB: leg, translation: { stages: { 'A->B': { speech: { frames: 3 } } } } } as unknown as PairStats;
    expect(cascadeTotals(plain)).toEqual({});
  });

  it('counts what grew between engine samples, per outcome and part', async () => {
    let stats = engineStats([pair({ started: 1, reused: 1 }, { switchedToFallback: 1, switchedToCloud: 0, fallbackCalls: 2 })]);
    const sampler = new EngineSampler({ stats: () => Promise.resolve(stats) }, { maxAgeMs: 0 });
    const metrics = new NodeMetrics({ sampler, pairs: { pairs: () => [] }, workers: 1, links: {}, processMetrics: false });
    try {
      let text = (await metrics.text()).body;
      expect(value(text, 'tandem_cascade_early_translations_total{outcome="started"}')).toBe(1);
      expect(value(text, 'tandem_cascade_fallback_switches_total{part="translator",to="fallback"}')).toBe(1);
      stats = engineStats([pair({ started: 3, reused: 1, replaced: 2 }, { switchedToFallback: 1, switchedToCloud: 1, fallbackCalls: 5 })]);
      text = (await metrics.text()).body;
      expect(value(text, 'tandem_cascade_early_translations_total{outcome="started"}')).toBe(3);
      expect(value(text, 'tandem_cascade_early_translations_total{outcome="reused"}')).toBe(1);
      expect(value(text, 'tandem_cascade_early_translations_total{outcome="replaced"}')).toBe(2);
      expect(value(text, 'tandem_cascade_fallback_switches_total{part="translator",to="cloud"}')).toBe(1);
      expect(value(text, 'tandem_cascade_fallback_calls_total{part="translator"}')).toBe(5);
    } finally {
      metrics.close();
    }
  });
});
