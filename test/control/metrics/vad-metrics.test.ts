import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TandemNode } from '../../../control/src/node/tandem-node.js';
import { WorkerHistogram } from '../../../control/src/metrics/worker-histogram.js';
import { synthesizeSpeechSamples } from '../../../engine/src/pipeline/streaming/espeak.js';
import { AsteriskSimulator, tone, type AudioSource } from '../../../tools/asterisk-simulator/ari/index.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { freePortRange } from '../../support/ports.js';
import { waitFor } from '../../support/rtp-peer.js';

/** The VAD's decision time, model time and queue depth on /metrics, from a translated call's real Silero VAD. */
const TOKEN = 'vad-metrics-token-0123456789';

/** Every sample line of one metric family: `name{labels} value` → [labels, value]. */
function family(text: string, name: string): Array<[string, number]> {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const at = l.lastIndexOf(' ');
      return [l.slice(name.length, at), Number(l.slice(at + 1))];
    });
}

/** Checks a scraped histogram's shape and returns its count and sum. */
function histogram(text: string, name: string, bounds: readonly number[]): { count: number; sum: number; buckets: number[] } {
  expect(text).toContain(`# TYPE ${name} histogram`);
  const buckets = family(text, `${name}_bucket`);
  expect(buckets.map(([labels]) => labels)).toEqual([...bounds.map((b) => `{le="${b}"}`), '{le="+Inf"}']);
  const counts = buckets.map(([, v]) => v);
  // Cumulative: never decreasing, and the +Inf bucket is the count.
  for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
  const count = family(text, `${name}_count`)[0]![1];
  const sum = family(text, `${name}_sum`)[0]![1];
  expect(counts.at(-1)).toBe(count);
  return { count, sum, buckets: counts };
}

describe('WorkerHistogram', () => {
  it('sums workers, adds only what is new, and keeps counting across a restarted worker', async () => {
    const registry = new Registry();
    const h = new WorkerHistogram({ registry, name: 'x_seconds', help: 'x', bounds: [1, 10], scale: 0.001 });
    const snap = (counts: number[], sum: number) => ({ bounds: [1, 10], counts, sum, count: counts.reduce((a, b) => a + b, 0) });
    h.add(1, snap([1, 0, 0], 0.5));
    h.add(2, snap([0, 2, 1], 30));
    h.add(1, snap([1, 1, 0], 5.5)); // thread 1: one new observation of 5 ms
    h.add(2, snap([0, 1, 0], 3)); // thread 2 restarted: a fresh tally, the old one kept
    h.add(3, { bounds: [1, 20], counts: [5, 5, 5], sum: 1, count: 15 }); // other buckets: ignored
    const text = await registry.metrics();
    expect(histogram(text, 'x_seconds', [0.001, 0.01])).toEqual({ count: 6, sum: 0.0385, buckets: [1, 5, 6] });
  });
});

describe('VAD metrics on /metrics', () => {
  let service: ReferenceService;
  let sim: AsteriskSimulator;
  let node: TandemNode;
  let base: string;
  let speech: Int16Array;

  beforeAll(async () => {
    const sentence = await synthesizeSpeechSamples('Where is the train station?', { voice: 'en', sampleRate: 8000 });
    speech = new Int16Array(4000 + sentence.length + 16_000);
    speech.set(sentence, 4000);
    service = await ReferenceService.start();
    sim = await AsteriskSimulator.start({ username: 'tandem', password: 'test-secret', endpoints: { '7001': { behaviour: 'answer', answerAfterMs: 50, audio: tone(880, 0) } } });
    node = await TandemNode.start({
      engine: { workers: 1, portRange: await freePortRange(100), requestTimeoutMs: 30_000 },
      store: { poolSize: 1 },
      ari: { url: sim.ariUrl, username: 'tandem', password: 'test-secret' },
      calls: { translation: { provider: { kind: 'tandem', url: service.url, sampleRate: 8000 }, languages: { A: 'en', B: 'es' } } },
      api: { token: TOKEN },
      processMetrics: false,
    });
    const address = node.apiAddress;
    if (address === null || !('url' in address)) throw new Error('expected a TCP API');
    base = address.url;
  }, 120_000);

  afterAll(async () => {
    await node?.close();
    await sim?.close();
    await service?.close();
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return await res.text();
  };

  it('histograms of decision time per inference, model time and queue depth per run grow with a translated call', async () => {
    // Before any translated call no VAD is loaded: the series exist, empty.
    const idle = await scrape();
    expect(histogram(idle, 'tandem_vad_decision_seconds', [0.001, 0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1]).count).toBe(0);
    expect(family(idle, 'tandem_vad_queued_chunks')).toEqual([['', 0]]);

    let at = 0;
    const audio: AudioSource = (sampleRate, samples) => {
      const out = new Int16Array(samples);
      if (sampleRate === 8000) for (let i = 0; i < samples && at + i < speech.length; i++) out[i] = speech[at + i]!;
      at += samples;
      return out;
    };
    const call = sim.placeCall({ callerNumber: '5550100', audio });
    let latencies = 0;
    node.engine.on('translation', (_pair, _direction, event) => {
      if (event.type === 'latency') latencies++;
    });
    // A finished utterance: the VAD heard its start and decided its end.
    await waitFor(() => latencies > 0, 60_000);
    const text = await scrape();
    sim.hangup(call.channelId);

    const decision = histogram(text, 'tandem_vad_decision_seconds', [0.001, 0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1]);
    const batch = histogram(text, 'tandem_vad_batch_seconds', [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.1, 0.25]);
    const depth = histogram(text, 'tandem_vad_queue_depth_chunks', [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]);
    // Speech went through the model (the gate skips silence), chunk by chunk: ≥ 10 inferences for a sentence.
    expect(decision.count).toBeGreaterThanOrEqual(10);
    expect(decision.sum).toBeGreaterThan(0);
    // One run per batch: the model-time and queue-depth histograms count the same runs; a run holds ≥ 1 chunk.
    expect(batch.count).toBeGreaterThan(0);
    expect(depth.count).toBe(batch.count);
    expect(decision.count).toBeGreaterThanOrEqual(batch.count);
    // A chunk waits at least as long as its run took: the decision sum bounds the model time from above.
    expect(decision.sum).toBeGreaterThanOrEqual(batch.sum);
    expect(family(text, 'tandem_vad_dropped_chunks_total')).toEqual([['', 0]]);
    // Still node-wide: no per-pair label on any of them.
    expect(text.split('\n').filter((l) => l.startsWith('tandem_vad_')).some((l) => l.includes('pair'))).toBe(false);
  }, 180_000);
});
