import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaEngine } from '../../../engine/src/engine.js';
import { Histogram } from '../../../tools/media-load/histogram.js';
import { reportToJson } from '../../../tools/media-load/report.js';
import { runTranslationLoadTest } from '../../../tools/media-load/translation-load.js';
import { formatTranslationReport, pacingWithinAnswers, summarize } from '../../../tools/media-load/translation-report.js';
import { ReferenceService } from '../../../tools/reference-service/reference-service.js';
import { freePortRange } from '../../support/ports.js';

describe('translation load report helpers', () => {
  it('summarize gives nearest-rank percentiles of raw samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(summarize(samples)).toEqual({ count: 100, p50_ms: 50, p99_ms: 99, max_ms: 100, mean_ms: 50.5 });
    expect(summarize([])).toEqual({ count: 0, p50_ms: null, p99_ms: null, max_ms: null, mean_ms: null });
  });

  it('pacingWithinAnswers leaves the silences between answers out of the percentiles and counts them', () => {
    const h = new Histogram(0.01, 100_000);
    for (let i = 0; i < 98; i++) h.record(0.5);
    h.record(3);
    h.record(400); // a 420 ms gap between two answers
    h.record(5000); // beyond the histogram: overflow, also a gap
    const p = pacingWithinAnswers(h.snapshot());
    expect(p.intervals).toBe(99);
    expect(p.gaps).toBe(2);
    // Bucket upper edges: at most one 0.01 ms bucket above the true value.
    expect(p.p50).toBeGreaterThanOrEqual(0.5);
    expect(p.p50).toBeLessThanOrEqual(0.52);
    expect(p.p99).toBeGreaterThanOrEqual(3);
    expect(p.p99).toBeLessThanOrEqual(3.02);
    expect(pacingWithinAnswers(new Histogram(0.01, 10).snapshot())).toEqual({ p50: null, p99: null, intervals: 0, gaps: 0 });
  });
});

describe('runTranslationLoadTest', () => {
  let service: ReferenceService;
  beforeAll(async () => {
    service = await ReferenceService.start();
  });
  afterAll(async () => {
    await service?.close();
  });

  it('translates every pair through the service and reports utterances, latency shares, ingress loss and memory (both legs talking at once)', async () => {
    let engine: MediaEngine | null = null;
    let child: ChildProcess | null = null;
    const report = await runTranslationLoadTest({
      pairs: 5,
      seconds: 8,
      warmupSeconds: 3,
      workers: 1,
      portRange: await freePortRange(100),
      service: { kind: 'url', url: service.url },
      talk: 'overlap',
      hooks: { engineStarted: (e) => (engine = e), generatorForked: (c) => (child = c) },
    });
    const t = report.translation;
    const text = formatTranslationReport(report);

    // Every direction of every pair had its own session with the service, tagged en→es or es→en.
    const sessions = service.sessions.filter((s) => s.pairId?.startsWith('lt_'));
    expect(sessions).toHaveLength(10);
    expect(new Set(sessions.map((s) => `${s.pairId} ${s.direction}`)).size).toBe(10);
    expect(sessions.find((s) => s.direction === 'A->B')?.start).toMatchObject({ sourceLanguage: 'en', targetLanguage: 'es', sampleRate: 8000 });

    expect(t.service).toMatchObject({ kind: 'external', url: service.url, cpu_pct: null, stats: null });
    expect(t.directions).toBe(10);
    expect(t.between).toBe('silence');
    expect(t.utterances.detected, text).toBeGreaterThan(0);
    expect(t.utterances.answered, text).toBeGreaterThan(0);
    expect(t.utterances.transcripts, text).toBeGreaterThan(0);
    expect(t.utterances.provider_errors, text).toBe(0);
    expect(t.utterances.disconnects, text).toBe(0);
    for (const key of ['total', 'endpointing', 'provider', 'tandem', 'tandem_ingress', 'tandem_vad', 'tandem_egress'] as const) {
      const s = t.latency[key];
      expect(s.count).toBe(t.utterances.answered);
      expect(s.p50_ms).not.toBeNull();
      expect(s.p99_ms!).toBeGreaterThanOrEqual(s.p50_ms!);
      expect(s.max_ms!).toBeGreaterThanOrEqual(s.p99_ms!);
    }
    expect(t.latency.tandem.p50_ms!).toBeGreaterThanOrEqual(0);
    expect(t.latency.provider.p50_ms!).toBeGreaterThan(0);
    // total = endpointing + provider + tandem for each utterance, and tandem = in + VAD + out, so the means add up.
    const mean = (key: keyof typeof t.latency): number => t.latency[key].mean_ms!;
    expect(mean('total')).toBeCloseTo(mean('endpointing') + mean('provider') + mean('tandem'), 0);
    expect(mean('tandem')).toBeCloseTo(mean('tandem_ingress') + mean('tandem_vad') + mean('tandem_egress'), 0);

    // Nothing was lost on the way in: every datagram the generator sent reached a leg.
    expect(t.ingress.generator_sent).toBeGreaterThan(5 * 2 * 50 * 8);
    expect(t.ingress.engine_received, text).toBe(t.ingress.generator_sent);
    expect(t.ingress.lost).toBe(0);
    expect(t.ingress.loss_pct).toBe(0);
    // The engine's frames reached the service, and its answers were played into the listeners' legs.
    expect(t.provider_path?.['framesSent']).toBeGreaterThan(0);
    expect(t.provider_path?.['framesPlayed']).toBeGreaterThan(0);
    expect(t.egress.generator_received).toBeGreaterThan(0);

    expect(t.memory.rss_mb.start).toBeGreaterThan(10);
    expect(t.memory.rss_mb.end).toBeGreaterThan(10);
    expect(t.memory.rss_mb.peak).toBeGreaterThanOrEqual(t.memory.rss_mb.end!);
    expect(t.memory.worker_heap_mb.start).toBeGreaterThan(0);
    expect(t.memory.worker_heap_mb.peak).toBeGreaterThanOrEqual(t.memory.worker_heap_mb.end!);
    expect(t.memory.timeline.length).toBeGreaterThan(8);
    expect(t.cpu.engine_pct).toBeGreaterThan(0);
    // The workers' VAD counters over the window: about 31 chunks of 32 ms per direction and second, each heard
    // by the model or decided by the energy gate (the looped speech is mostly speech: the model hears most).
    // Dropped chunks depend on how busy the machine is, so they are reported, not asserted.
    expect(t.vad, text).not.toBeNull();
    const heard = t.vad!.model_chunks + t.vad!.gated_chunks - t.vad!.pre_rolled;
    expect(heard, text).toBeGreaterThan(0.5 * 10 * 8 * 31.25);
    expect(t.vad!.gated_chunks).toBeGreaterThanOrEqual(t.vad!.pre_rolled);
    expect(t.vad!.model_share).toBeGreaterThan(0.5);
    expect(t.vad!.model_share).toBeLessThanOrEqual(1);
    expect(t.targets.vad_kept_up).toBe(t.vad!.dropped_chunks === 0 && t.vad!.errors === 0);
    expect(text).toMatch(/VAD +model \d+ chunks in \d+ batches/);

    // The JSON carries the section under `translation`, beside the load test's usual keys.
    const json = JSON.parse(reportToJson(report)) as Record<string, Record<string, unknown>>;
    expect(Object.keys(json['translation']!).sort()).toEqual(
      ['between', 'conversation', 'cpu', 'directions', 'vad_gate', 'egress', 'ingress', 'languages', 'latency', 'memory', 'provider_path', 'service', 'targets', 'utterances', 'vad'].sort(),
    );
    expect(json['translation']!['latency']).toHaveProperty('tandem.p99_ms');
    for (const key of ['pairs', 'cpu_pct', 'rss_mb', 'packets_in', 'machine']) expect(json).toHaveProperty(key);
    expect(text).toContain('5 pairs (10 translated directions, en↔es, between answers: silence, VAD gate adaptive)');
    // Both legs talked at once: no conversation to count.
    expect(t.conversation).toBeNull();
    expect(t.targets.no_utterance_missed).toBeNull();
    expect(t.cpu.engine_pct_per_pair).toBeCloseTo(t.cpu.engine_pct / 5, 2);

    // Nothing is left running.
    expect((engine as MediaEngine | null)?.closed).toBe(true);
    const c = child as ChildProcess | null;
    expect(c !== null && (c.exitCode !== null || c.signalCode !== null)).toBe(true);
  }, 90_000);

  // Turn-taking, on both generator cores: utterance 1 of the script is muted on purpose. With two pairs it is
  // only pair 0's leg A's first utterance (conversationStart), so A->B misses exactly what was muted and B->A nothing.
  it.each(['native', 'node'] as const)('counts a conversation\'s utterances sent against detected, and the one dropped on purpose as missed (%s generator core)', async (core) => {
    const report = await runTranslationLoadTest({
      pairs: 2,
      seconds: 14,
      warmupSeconds: 2,
      workers: 1,
      heapProbe: false,
      generatorCore: core,
      portRange: await freePortRange(100),
      service: { kind: 'url', url: service.url },
      conversation: { answerWaitMs: 1500, mutedUtterances: [1] },
    });
    const t = report.translation;
    const text = formatTranslationReport(report);
    const c = t.conversation;
    expect(c, text).not.toBeNull();
    expect(c!.mode).toBe('turns');
    expect(c!.script_utterances).toBe(6);
    const ab = c!.directions['A->B'];
    const ba = c!.directions['B->A'];
    // Every stream spoke: at least one whole utterance per leg of each pair.
    expect(ab.sent, text).toBeGreaterThanOrEqual(2);
    expect(ba.sent, text).toBeGreaterThanOrEqual(2);
    // The muted utterance was sent (as silence) and is the only one missed.
    expect(ab.muted, text).toBe(1);
    expect(ab.missed, text).toBe(1);
    expect(ba.muted, text).toBe(0);
    expect(ba.missed, text).toBe(0);
    expect(c!.missed).toBe(1);
    expect(t.targets.no_utterance_missed).toBe(false);
    // Clean speech: what was sent was detected (extra: at most an utterance whose closing silence the end of the run cut short).
    expect(ab.detected - ab.extra, text).toBe(ab.sent - 1);
    expect(ba.detected - ba.extra, text).toBe(ba.sent);
    expect(ab.extra + ba.extra, text).toBeLessThanOrEqual(2);
    // Every detected utterance was answered and transcribed, and Tandem's share is reported per direction.
    for (const d of [ab, ba]) {
      expect(d.answered, text).toBe(d.detected);
      expect(d.transcripts, text).toBe(d.detected);
      expect(d.tandem.count).toBe(d.answered);
      expect(d.tandem.p99_ms!).toBeGreaterThanOrEqual(d.tandem.p50_ms!);
    }
    // Pauses are silence: the VAD's gate decided a large share of the audio without the model.
    expect(t.vad!.model_share, text).toBeLessThan(0.8);
    expect(t.cpu.engine_pct_per_pair).toBeCloseTo(t.cpu.engine_pct / 2, 2);
    expect(c).toMatchObject({ answer_wait_ms: 1500, background_dbfs: null });
    expect(text).toMatch(/conversation +turns of \d+ ms \(answer wait 1500 ms, pauses digital silence\) over 6 sentences, whole run: sent \d+, detected \d+, missed 1/);
    expect(text).toMatch(/A->B +sent \d+, detected \d+, missed 1, extra \d+ \(muted on purpose 1\)/);
    expect(JSON.parse(reportToJson(report))).toHaveProperty('translation.conversation.directions.B->A.missed', 0);
  }, 90_000);
});
