import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { CascadeStage, type CascadeStageOptions } from '../../../engine/src/pipeline/cascade/cascade-stage.js';
import { DeepgramRecognizer } from '../../../engine/src/pipeline/cascade/deepgram-recognizer.js';
import { StablePrefix, compareFinal } from '../../../engine/src/pipeline/cascade/early-translation.js';
import type { CascadeRecognizer, CascadeSynthesizer, CascadeTranslator, SpeakRequest, TranslateRequest } from '../../../engine/src/pipeline/cascade/types.js';
import { ProviderError } from '../../../engine/src/pipeline/providers/types.js';
import type { StageContext } from '../../../engine/src/pipeline/stage.js';
import { DeepgramDouble } from '../../../tools/doubles/deepgram-server.js';
import { FakeRecognizer } from './fake-recognizer.js';
import { deepgramOptions, toneFrame } from './helpers.js';

const context: StageContext = { pairId: 'p', srcExt: '1', dstExt: '2', direction: 'A->B' };

/** Translates to `ES(text)`; `failFirst` makes its first call fail (after a tick, as a service would). */
function translator(failFirst = false): CascadeTranslator & { calls: string[] } {
  const t = {
    name: 'fake-mt',
    calls: [] as string[],
    async translate(text: string, req: TranslateRequest): Promise<string> {
      t.calls.push(text);
      await new Promise((r) => setImmediate(r));
      if (req.signal.aborted) throw new ProviderError('aborted', 'aborted');
      if (failFirst && t.calls.length === 1) throw new ProviderError('unavailable', 'down');
      return `ES(${text})`;
    },
    release(): void {},
  };
  return t;
}

function synth(): CascadeSynthesizer & { spoken: string[] } {
  const s = {
    name: 'fake-tts',
    sampleRate: 8000 as const,
    spoken: [] as string[],
    speak(text: string, req: SpeakRequest): Promise<void> {
      s.spoken.push(text);
      req.onAudio(new Int16Array(160).fill(3000));
      return Promise.resolve();
    },
    close(): void {},
  };
  return s;
}

interface Seen {
  translations: Array<{ text: string; final: boolean; utteranceId: string }>;
  transcripts: Array<{ text: string; final: boolean; utteranceId: string }>;
  errors: string[];
}

function stage(recognizer: CascadeRecognizer, mt: CascadeTranslator, tts: CascadeSynthesizer, early: CascadeStageOptions['earlyTranslation']) {
  const seen: Seen = { translations: [], transcripts: [], errors: [] };
  const s = new CascadeStage({
    context,
    hooks: {
      transcript: (m) => seen.transcripts.push({ text: m.text, final: m.final, utteranceId: m.utteranceId }),
      translation: (m) => seen.translations.push({ text: m.text, final: m.final, utteranceId: m.utteranceId }),
      mark: () => undefined,
      audio: () => undefined,
      error: (code) => seen.errors.push(code),
      connection: () => undefined,
    },
    log: logger('test.early'),
    languages: { source: 'en', target: 'es' },
    recognizer,
    translator: mt,
    synthesizer: tts,
    mode: 'translated-only',
    duckGain: 0.25,
    legRate: 8000,
    translateTimeoutMs: 10_000,
    synthesisTimeoutMs: 10_000,
    maxPendingUtterances: 4,
    maxQueueSeconds: 10,
    ...(early === undefined ? {} : { earlyTranslation: early }),
  });
  return { s, seen };
}

async function until(p: () => boolean): Promise<void> {
  for (let i = 0; i < 3000 && !p(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!p()) throw new Error('condition never held');
}

const EARLY = { enabled: true, minWords: 2, stablePartials: 2 };

describe('stable prefix and the final', () => {
  it('a prefix is stable once the last N partials agree on it, or when the recognizer settled it', () => {
    const p = new StablePrefix(2);
    expect(p.push('the')).toEqual([]);
    expect(p.push('the cat')).toEqual(['the']);
    expect(p.push('the cat is')).toEqual(['the', 'cat']);
    expect(p.push('the hat is red')).toEqual(['the']); // a revision un-settles what changed
    p.reset();
    expect(p.push('a dog sat', 2)).toEqual(['a', 'dog']); // settled by the recognizer, no agreement needed
  });

  it('compares words loosely: case and punctuation are not a difference', () => {
    expect(compareFinal('the cat is', 'The cat is.')).toEqual({ kind: 'same' });
    expect(compareFinal('the cat', 'The cat is black.')).toEqual({ kind: 'extends', rest: 'is black.' });
    expect(compareFinal('the cat is', 'The hat is black')).toEqual({ kind: 'differs' });
  });
});

describe('CascadeStage early translation', () => {
  it('is off unless enabled: partials are never translated', async () => {
    const r = new FakeRecognizer();
    const mt = translator();
    const { s } = stage(r, mt, synth(), undefined);
    r.say('the cat', false);
    r.say('the cat is', false);
    r.say('the cat is black', false);
    r.say('the cat is black', true);
    await until(() => s.stats().utterancesDone === 1);
    expect(mt.calls).toEqual(['the cat is black']);
    expect(s.stats().early.started).toBe(0);
    s.close();
  });

  it('a final with the same words reuses the early translation: translated once, shown as partial then final', async () => {
    const r = new FakeRecognizer();
    const mt = translator();
    const tts = synth();
    const { s, seen } = stage(r, mt, tts, EARLY);
    r.say('the cat', false);
    r.say('the cat', false);
    await until(() => seen.translations.length === 1);
    expect(seen.translations[0]).toMatchObject({ text: 'ES(the cat)', final: false });
    r.say('The cat.', true);
    await until(() => s.stats().utterancesDone === 1);
    expect(mt.calls).toEqual(['the cat']);
    expect(tts.spoken).toEqual(['ES(the cat)']);
    expect(seen.translations.map((t) => [t.text, t.final])).toEqual([
      ['ES(the cat)', false],
      ['ES(the cat)', true],
    ]);
    expect(new Set(seen.translations.map((t) => t.utteranceId)).size).toBe(1);
    expect(s.stats().early).toEqual({ started: 1, reused: 1, extended: 0, replaced: 0, failed: 0 });
    s.close();
  });

  it('a final that extends the early words translates and speaks only the rest after them', async () => {
    const r = new FakeRecognizer();
    const mt = translator();
    const tts = synth();
    const { s, seen } = stage(r, mt, tts, EARLY);
    r.say('the cat', false);
    r.say('the cat is', false);
    r.say('the cat is black today', true);
    await until(() => s.stats().utterancesDone === 1);
    expect(mt.calls).toEqual(['the cat', 'is black today']);
    expect(tts.spoken).toEqual(['ES(the cat)', 'ES(is black today)']);
    expect(seen.translations.at(-1)).toMatchObject({ text: 'ES(the cat) ES(is black today)', final: true });
    expect(s.stats().early).toMatchObject({ started: 1, extended: 1, replaced: 0 });
    s.close();
  });

  it('a final that differs replaces the early translation: the final is translated whole', async () => {
    const r = new FakeRecognizer();
    const mt = translator();
    const tts = synth();
    const { s, seen } = stage(r, mt, tts, EARLY);
    r.say('the cat', false);
    r.say('the cat is', false);
    await until(() => seen.translations.length === 1);
    r.say('a hat is black', true);
    await until(() => s.stats().utterancesDone === 1);
    expect(mt.calls).toEqual(['the cat', 'a hat is black']);
    expect(tts.spoken).toEqual(['ES(a hat is black)']);
    expect(seen.translations.map((t) => [t.text, t.final])).toEqual([
      ['ES(the cat)', false],
      ['ES(a hat is black)', true],
    ]);
    expect(s.stats().early).toMatchObject({ started: 1, replaced: 1 });
    s.close();
  });

  it('a failed early translation costs nothing: the final is translated as usual and the failure counted', async () => {
    const r = new FakeRecognizer();
    const mt = translator(true);
    const { s, seen } = stage(r, mt, synth(), EARLY);
    r.say('the cat', false);
    r.say('the cat', false);
    r.say('the cat', true);
    await until(() => s.stats().utterancesDone === 1);
    expect(mt.calls).toEqual(['the cat', 'the cat']);
    expect(seen.errors).toEqual([]);
    expect(s.stats().early).toMatchObject({ started: 1, failed: 1, reused: 0 });
    s.close();
  });
});


describe('early translation from the Deepgram double interim results', () => {
  let double: DeepgramDouble | null = null;
  let s: CascadeStage | null = null;
  afterEach(async () => {
    s?.close();
    await double?.close();
    s = null;
    double = null;
  });

  it('translates the settled words of growing interims early, then only the rest or the whole revised final', async () => {
    double = await DeepgramDouble.start({
      apiKey: 'dg',
      interims: 'growing',
      interimAfterMs: 100,
      script: ['the cat is black today', { interim: 'the dog is brown and small', final: 'a dog was brown' }],
    });
    const rec = new DeepgramRecognizer(context, 'en-US', 8000, deepgramOptions(double.url, 'dg'));
    const mt = translator();
    const tts = synth();
    const built = stage(rec, mt, tts, { enabled: true, minWords: 3, stablePartials: 2 });
    s = built.s;
    const stageNow = s;
    await until(() => rec.stats().connects === 1);
    let i = 0;
    const speak = (speech: number, silence: number): void => {
      for (let k = 0; k < speech; k++, i++) stageNow.hear(toneFrame(context, true, i));
      for (let k = 0; k < silence; k++, i++) stageNow.hear(toneFrame(context, false, i));
    };
    speak(60, 20); // 1.2 s: five growing interims, then the final after 300 ms of silence
    await until(() => stageNow.stats().utterancesDone === 1);
    // "the cat is" is the first prefix two interims agree on with three words.
    expect(mt.calls).toEqual(['the cat is', 'black today']);
    expect(tts.spoken).toEqual(['ES(the cat is)', 'ES(black today)']);
    speak(60, 20);
    await until(() => stageNow.stats().utterancesDone === 2);
    expect(mt.calls.slice(2)).toEqual(['the dog is', 'a dog was brown']);
    expect(tts.spoken.slice(2)).toEqual(['ES(a dog was brown)']);
    expect(stageNow.stats().early).toEqual({ started: 2, reused: 0, extended: 1, replaced: 1, failed: 0 });
    // The transcripts show the interims and the finals, the translations the early and the final one.
    const partials = built.seen.transcripts.filter((t) => !t.final).map((t) => t.text);
    expect(partials).toContain('the cat is black');
    expect(built.seen.transcripts.filter((t) => t.final).map((t) => t.text)).toEqual(['the cat is black today', 'a dog was brown']);
    expect(built.seen.translations.filter((t) => t.final).map((t) => t.text)).toEqual(['ES(the cat is) ES(black today)', 'ES(a dog was brown)']);
  });
});
