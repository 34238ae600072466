import { describe, expect, it } from 'vitest';
import { LoadTestError } from '../../../tools/media-load/errors.js';
import { reportToJson } from '../../../tools/media-load/report.js';
import { cascadeProvider, parseCascadeParts } from '../../../tools/media-load/cascade-doubles.js';
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
      expect(stats).toMatchObject({ deepgram: { sessions: 0, utterances: 0 }, elevenlabs: { sessions: 0 } });
      expect(stats).not.toHaveProperty('deepl');
    }
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

    expect(text).toMatch(/service +cascade deepgram \(endpointing 1000 ms\) → deepl → elevenlabs \(doubles in-process: deepgram ws:\/\/127\.0\.0\.1:\d+\/v1\/listen/);
    expect(text).toMatch(/recognition \(VAD decision → final transcript\) +p50 [\d.]+ ms/);
    expect(text).toMatch(/synthesis +\(translated text → first audio\) +p50 [\d.]+ ms/);
    expect(JSON.parse(reportToJson(report))).toHaveProperty('translation.latency.provider_translation.p99_ms');
  }, 90_000);
});
