import { describe, expect, it } from 'vitest';
import { LoadTestError } from '../../../tools/media-load/errors.js';
import { reportToJson } from '../../../tools/media-load/report.js';
import { DELAY_PROFILES, type DelayedAnswer, type PlannedDelays } from '../../../tools/doubles/answer-delays.js';
import { cascadeProvider, describeDelays, parseCascadeParts } from '../../../tools/media-load/cascade-doubles.js';
import { runTranslationLoadTest } from '../../../tools/media-load/translation-load.js';
import { formatTranslationReport } from '../../../tools/media-load/translation-report.js';
import { startProvider } from '../../../tools/media-load/translation-provider.js';
import { freePortRange } from '../../support/ports.js';

describe('cascade load run helpers', () => {
  it('parses recognizer,translator,synthesizer and names the wrong part', () => {
    expect(parseCascadeParts('deepgram,apertium,espeak-ng')).toEqual({ recognizer: 'deepgram', translator: 'apertium', synthesizer: 'espeak-ng' });
    expect(() => parseCascadeParts('deepgram,deepl')).toThrow(LoadTestError);
    expect(() => parseCascadeParts('deepgram,bing,elevenlabs')).toThrow(/cascade translator: expected deepl or apertium, got "bing"/);
    expect(() => parseCascadeParts('google,deepl,elevenlabs')).toThrow(/cascade recognizer/);
  });

  it('points each cloud part at its double and refuses a cascade whose double is missing', () => {
    const provider = cascadeProvider(parseCascadeParts('deepgram,deepl,elevenlabs'), { deepgram: 'ws://127.0.0.1:1/v1/listen', deepl: 'http://127.0.0.1:2', elevenlabs: 'ws://127.0.0.1:3' });
    expect(provider).toMatchObject({
      kind: 'cascade',
      recognizer: { kind: 'deepgram', url: 'ws://127.0.0.1:1/v1/listen' },
      translator: { kind: 'deepl', serverUrl: 'http://127.0.0.1:2' },
      synthesizer: { kind: 'elevenlabs', url: 'ws://127.0.0.1:3' },
    });
    expect(() => cascadeProvider(parseCascadeParts('deepgram,deepl,espeak-ng'), { deepgram: 'ws://127.0.0.1:1/v1/listen' })).toThrow(/DeepL double/);
  });

  it('states the delays of the doubles a cascade uses: profile, seed and each range', () => {
    expect(describeDelays({ profile: 'realistic', seed: 9 }, parseCascadeParts('deepgram,deepl,elevenlabs'))).toEqual({
      profile: 'realistic',
      seed: 9,
      ranges_ms: { deepgram_final: [200, 400], deepl_response: [100, 300], elevenlabs_first_audio: [250, 400], elevenlabs_chunk_gap: [30, 70] },
    });
    // Apertium and espeak-ng run in the engine: nothing of theirs is delayed.
    expect(describeDelays({ profile: 'none', seed: 1 }, parseCascadeParts('deepgram,apertium,espeak-ng')).ranges_ms).toEqual({ deepgram_final: [0, 0] });
  });
});

describe('tandem cascade-doubles (the CLI runs the doubles in a child process)', () => {
  it('prints every double\'s URL, the pairs\' provider points at them, and on stop it reports what the doubles saw', async () => {
    const running = await startProvider({
      kind: 'cascade',
      parts: parseCascadeParts('deepgram,apertium,elevenlabs'),
      process: { command: process.execPath, args: ['--import', 'tsx', 'tools/cli/main.ts', 'cascade-doubles', '--cascade', 'deepgram,apertium,elevenlabs'], startTimeoutMs: 60_000 },
    });
    try {
      expect(running.service).toMatchObject({ kind: 'child-process', provider: 'cascade', cascade: { translator: 'apertium', recognizer_endpointing_ms: 1000 } });
      // Apertium runs in the engine: no DeepL double was started.
      expect(Object.keys(running.service.cascade!.urls).sort()).toEqual(['deepgram', 'elevenlabs']);
      expect(running.provider).toMatchObject({
        kind: 'cascade',
        recognizer: { kind: 'deepgram', url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/listen$/) as unknown, endpointingMs: 1000 },
        translator: { kind: 'apertium' },
        synthesizer: { kind: 'elevenlabs', url: running.service.cascade!.urls['elevenlabs'] },
      });
      expect(running.cpuMs()).toBeGreaterThanOrEqual(0);
    } finally {
      const stats = await running.stop();
      expect(stats).toMatchObject({ delays: { profile: 'none', seed: 1 }, deepgram: { sessions: 0, utterances: 0 }, elevenlabs: { sessions: 0 } });
      expect(stats).not.toHaveProperty('deepl');
    }
  }, 90_000);

  it('refuses a doubles process whose delays are not the ones the run asked for (the report would state the wrong profile)', async () => {
    const started = startProvider({
      kind: 'cascade',
      parts: parseCascadeParts('deepgram,apertium,espeak-ng'),
      delays: { profile: 'realistic', seed: 4 },
      process: { command: process.execPath, args: ['--import', 'tsx', 'tools/cli/main.ts', 'cascade-doubles', '--cascade', 'deepgram,apertium,espeak-ng', '--delays', 'realistic', '--delay-seed', '5'], startTimeoutMs: 60_000 },
    });
    await expect(started).rejects.toThrow(/its delays are \{"profile":"realistic","seed":5\}, the run asked for \{"profile":"realistic","seed":4\}/);
  }, 90_000);
});

describe('runTranslationLoadTest through the cascade (Deepgram → DeepL → ElevenLabs doubles)', () => {
  it('recognises the utterances sent and reports Tandem\'s share beside the provider split', async () => {
    const report = await runTranslationLoadTest({
      pairs: 2,
      seconds: 10,
      warmupSeconds: 2,
      workers: 1,
      heapProbe: false,
      portRange: await freePortRange(100),
      service: { kind: 'cascade', parts: parseCascadeParts('deepgram,deepl,elevenlabs') },
      conversation: { answerWaitMs: 1500 },
    });
    const t = report.translation;
    const text = formatTranslationReport(report);
    if (process.env['SHOW_REPORT']) process.stderr.write(text);

    expect(t.service).toMatchObject({ kind: 'in-process', provider: 'cascade', cascade: { recognizer: 'deepgram', translator: 'deepl', synthesizer: 'elevenlabs' } });
    expect(Object.keys(t.service.cascade!.urls).sort()).toEqual(['deepgram', 'deepl', 'elevenlabs']);
    // The doubles saw a recognizer session per direction, named utterances, translation requests and syntheses.
    const stats = t.service.stats as { deepgram: { sessions: number; utterances: number }; deepl: { requests: number }; elevenlabs: { sessions: number; chunks: number } };
    expect(stats.deepgram.sessions, text).toBe(4);
    expect(stats.deepgram.utterances, text).toBeGreaterThan(0);
    expect(stats.deepl.requests, text).toBeGreaterThan(0);
    expect(stats.elevenlabs.chunks, text).toBeGreaterThan(0);

    // Utterances the generator sent were detected and recognised (final transcripts), with no provider errors.
    const c = t.conversation!;
    expect(c, text).not.toBeNull();
    expect(c.sent, text).toBeGreaterThanOrEqual(2);
    for (const d of [c.directions['A->B'], c.directions['B->A']]) {
      expect(d.sent, text).toBeGreaterThanOrEqual(1);
      expect(d.transcripts, text).toBeGreaterThanOrEqual(1);
    }
    expect(c.directions['A->B'].transcripts + c.directions['B->A'].transcripts, text).toBeGreaterThanOrEqual(c.sent - c.missed);
    expect(t.utterances.provider_errors, text).toBe(0);
    // Tandem's VAD ends every utterance (the recognizer's own endpointing is longer), so each answer comes after the
    // VAD's decision and is timed: as many answered as detected, give or take one at the window's edges.
    expect(t.utterances.answered, text).toBeGreaterThan(0);
    expect(t.utterances.answered, text).toBeGreaterThanOrEqual(t.utterances.detected - 1);

    // The provider's time is split into its three parts, one sample per answered utterance. The parts are timed from
    // the VAD's end of speech or the recognizer's final, whichever came first (the double's endpointing can beat the
    // VAD's decision, and translation starts on the final), so together they cover at least the provider's share.
    for (const key of ['provider_recognition', 'provider_translation', 'provider_synthesis', 'tandem'] as const) {
      expect(t.latency[key].count, `${key}\n${text}`).toBe(t.utterances.answered);
      expect(t.latency[key].p99_ms!).toBeGreaterThanOrEqual(t.latency[key].p50_ms!);
    }
    expect(t.latency.provider_translation.p50_ms!).toBeGreaterThan(0);
    expect(t.latency.provider_synthesis.p50_ms!).toBeGreaterThan(0);
    const mean = (key: keyof typeof t.latency): number => t.latency[key].mean_ms!;
    expect(mean('provider_recognition') + mean('provider_translation') + mean('provider_synthesis'), text).toBeGreaterThanOrEqual(mean('provider') - 1);
    expect(mean('tandem')).toBeCloseTo(mean('tandem_ingress') + mean('tandem_vad') + mean('tandem_egress'), 0);
    // The provider path carries the cascade's counters: audio the recognizer sent, finals, utterances answered, no drops.
    expect(t.provider_path?.['framesSent'], text).toBeGreaterThan(0);
    expect(t.provider_path?.['finals'], text).toBeGreaterThan(0);
    expect(t.provider_path?.['utterancesDone'], text).toBeGreaterThan(0);
    expect(t.targets.no_provider_path_drops, text).toBe(true);
    expect(text).toMatch(/cascade finals \d+, utterances done \d+, dropped 0/);
    expect(t.ingress.lost).toBe(0);
    expect(t.cpu.engine_pct_per_pair).toBeCloseTo(t.cpu.engine_pct / 2, 2);

    expect(text).toMatch(/service +cascade deepgram \(endpointing 1000 ms\) → deepl → elevenlabs \(doubles in-process, answering at once: deepgram ws:\/\/127\.0\.0\.1:\d+\/v1\/listen/);
    expect(t.service.cascade!.delays.profile).toBe('none');
    expect(text).toMatch(/recognition \(VAD decision → final transcript\) +p50 [\d.]+ ms/);
    expect(text).toMatch(/synthesis +\(translated text → first audio\) +p50 [\d.]+ ms/);
    expect(JSON.parse(reportToJson(report))).toHaveProperty('translation.latency.provider_translation.p99_ms');
  }, 90_000);
});

describe('runTranslationLoadTest through the cascade with realistic answer delays', () => {
  it('states the profile, the doubles delayed every answer within its range, utterances were still answered, and memory is reported', async () => {
    const report = await runTranslationLoadTest({
      pairs: 2,
      seconds: 12,
      warmupSeconds: 2,
      workers: 1,
      portRange: await freePortRange(100),
      service: { kind: 'cascade', parts: parseCascadeParts('deepgram,deepl,elevenlabs'), delays: { profile: 'realistic', seed: 3 } },
      // The default answer wait: the other party starts its turn after the delayed answer's first audio.
      conversation: { answerWaitMs: 2500 },
    });
    const t = report.translation;
    const text = formatTranslationReport(report);
    if (process.env['SHOW_REPORT']) process.stderr.write(text);

    // The report states the profile and its ranges (JSON and text).
    expect(t.service.cascade!.delays).toEqual(describeDelays({ profile: 'realistic', seed: 3 }, parseCascadeParts('deepgram,deepl,elevenlabs')));
    expect(text).toMatch(/doubles in-process, delays realistic \(seed 3: deepgram_final 200–400 ms, deepl_response 100–300 ms, elevenlabs_first_audio 250–400 ms, elevenlabs_chunk_gap 30–70 ms\)/);

    // What the doubles drew: every final, translation and synthesis delayed, each within its documented range.
    const stats = t.service.stats as {
      delays: { profile: string; seed: number };
      deepgram: { finals_sent: number; delays: Partial<Record<DelayedAnswer, PlannedDelays>> };
      deepl: { answered: number; delays: Partial<Record<DelayedAnswer, PlannedDelays>> };
      elevenlabs: { chunks: number; delays: Partial<Record<DelayedAnswer, PlannedDelays>> };
    };
    expect(stats.delays).toEqual({ profile: 'realistic', seed: 3 });
    const drawn = (planned: PlannedDelays | undefined, answer: DelayedAnswer): number => {
      const range = DELAY_PROFILES.realistic[answer];
      expect(planned, `${answer}\n${text}`).toBeDefined();
      expect(planned!.min_ms!, answer).toBeGreaterThanOrEqual(range.minMs);
      expect(planned!.max_ms!, answer).toBeLessThanOrEqual(range.maxMs);
      return planned!.count;
    };
    expect(drawn(stats.deepgram.delays.deepgramFinal, 'deepgramFinal'), text).toBeGreaterThanOrEqual(stats.deepgram.finals_sent);
    expect(stats.deepgram.finals_sent, text).toBeGreaterThan(0);
    expect(drawn(stats.deepl.delays.deeplResponse, 'deeplResponse'), text).toBeGreaterThanOrEqual(stats.deepl.answered);
    expect(stats.deepl.answered, text).toBeGreaterThan(0);
    expect(drawn(stats.elevenlabs.delays.elevenlabsFirstAudio, 'elevenlabsFirstAudio'), text).toBeGreaterThan(0);
    expect(drawn(stats.elevenlabs.delays.elevenlabsChunkGap, 'elevenlabsChunkGap'), text).toBeGreaterThan(0);

    // Utterances were still answered and split into their parts, with no provider errors and no media lost on the way in.
    const c = t.conversation!;
    expect(c.sent, text).toBeGreaterThanOrEqual(2);
    for (const d of [c.directions['A->B'], c.directions['B->A']]) expect(d.transcripts, text).toBeGreaterThanOrEqual(1);
    expect(t.utterances.provider_errors, text).toBe(0);
    expect(t.utterances.answered, text).toBeGreaterThan(0);
    expect(t.utterances.answered, text).toBeGreaterThanOrEqual(t.utterances.detected - 1);
    for (const key of ['provider_recognition', 'provider_translation', 'provider_synthesis'] as const) expect(t.latency[key].count, `${key}\n${text}`).toBe(t.utterances.answered);
    expect(t.ingress.lost, text).toBe(0);

    // Memory over the run: RSS and heap in use at the window's start and end, their peaks and growth; the heap after
    // a full GC at both ends and the verdict on its growth.
    const m = t.memory;
    for (const [name, part] of [['rss', m.rss_mb], ['main heap', m.main_heap_mb], ['worker heap', m.worker_heap_mb]] as const) {
      expect(part.start, name).toBeGreaterThan(0);
      expect(part.end, name).toBeGreaterThan(0);
      expect(part.peak, name).toBeGreaterThanOrEqual(part.end!);
      expect(part.growth, name).toBeCloseTo(part.end! - part.start!, 0);
    }
    expect(m.heap_after_gc_mb.start, text).toBeGreaterThan(0);
    expect(m.heap_after_gc_mb.growth, text).toBeCloseTo(m.heap_after_gc_mb.end! - m.heap_after_gc_mb.start!, 1);
    expect(t.targets.memory_bounded).toBe(m.heap_after_gc_mb.growth! < m.heap_growth_tolerance_mb);
    expect(m.timeline.length).toBeGreaterThan(0);
    expect(m.timeline[0]!.main_heap_mb).toBeGreaterThan(0);
    expect(text).toMatch(/after full GC +[\d.]+ → [\d.]+ MB, growth -?[\d.]+ MB \(tolerance 2 MB\) +\[memory bounded: (ok|MISSED)\]/);
    const json = JSON.parse(reportToJson(report)) as { translation: { memory: Record<string, unknown>; targets: Record<string, unknown>; service: { cascade: { delays: { profile: string } } } } };
    expect(json.translation.service.cascade.delays.profile).toBe('realistic');
    expect(json.translation.targets).toHaveProperty('memory_bounded');
    expect(Object.keys(json.translation.memory).sort()).toEqual(['heap_after_gc_mb', 'heap_growth_tolerance_mb', 'main_heap_mb', 'rss_mb', 'timeline', 'worker_heap_mb']);
  }, 120_000);
});
