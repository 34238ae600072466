import { describe, expect, it } from 'vitest';
import type { EngineStats } from '../../../engine/src/index.js';
import type { DirectionEvent } from '../../../engine/src/pipeline/translation/translating-stage.js';
import { EngineSampler } from '../../../control/src/metrics/engine-sampler.js';
import { NodeMetrics } from '../../../control/src/metrics/node-metrics.js';

const stats = { pairs: 0, sockets: 0, shards: [] } as unknown as EngineStats;
const value = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"=,.]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 'NaN');

function latency(extra: Partial<Extract<DirectionEvent, { type: 'latency' }>> = {}): DirectionEvent {
  return { type: 'latency', utteranceEndMs: 200, totalMs: 310, providerMs: 0, tandemMs: 10, ingressMs: 1, vadMs: 4, egressMs: 5, endpointingMs: 300, arrivalLatenessMs: 0, ...extra };
}

describe('translation latency on /metrics', () => {
  it('counts utterances answered before the VAD decision, and times them like the others', async () => {
    const sampler = new EngineSampler({ stats: () => Promise.resolve(stats) }, { maxAgeMs: 0 });
    const metrics = new NodeMetrics({ sampler, pairs: { pairs: () => [] }, workers: 1, links: {}, processMetrics: false });
    try {
      metrics.translationEvent(latency({ providerMs: 120 }));
      metrics.translationEvent(latency({ answeredBeforeDecision: true }));
      const text = (await metrics.text()).body;
      expect(value(text, 'tandem_translation_answers_before_decision_total')).toBe(1);
      expect(value(text, 'tandem_translation_latency_seconds_count{part="provider"}')).toBe(2);
    } finally {
      metrics.close();
    }
  });
});
