import { describe, expect, it } from 'vitest';
import { logger } from '../../../common/src/logger.js';
import { CascadeStage } from '../../../engine/src/pipeline/cascade/cascade-stage.js';
import type { CascadeSynthesizer, CascadeTranslator, SpeakRequest, TranslateRequest } from '../../../engine/src/pipeline/cascade/types.js';
import { ProviderError } from '../../../engine/src/pipeline/providers/types.js';
import type { MediaFrame, StageContext } from '../../../engine/src/pipeline/stage.js';
import type { SpeechHooks } from '../../../engine/src/pipeline/translation/speech-stage.js';
import { FakeRecognizer } from './fake-recognizer.js';

const context: StageContext = { pairId: 'p', srcExt: '1', dstExt: '2', direction: 'A->B' };

type Behaviour = 'ok' | 'fail' | 'hang';

function fakeTranslator(behaviour: () => Behaviour): CascadeTranslator & { calls: string[]; released: number } {
  const t = {
    name: 'fake-mt',
    calls: [] as string[],
    released: 0,
    translate(text: string, req: TranslateRequest): Promise<string> {
      t.calls.push(text);
      const b = behaviour();
      if (b === 'fail') return Promise.reject(new ProviderError('unavailable', 'translator down'));
      if (b === 'hang') return new Promise((_r, reject) => req.signal.addEventListener('abort', () => reject(new ProviderError('aborted', 'x'))));
      return Promise.resolve(`ES(${text})`);
    },
    release(): void {
      t.released++;
    },
  };
  return t;
}

function fakeSynth(behaviour: () => Behaviour = () => 'ok'): CascadeSynthesizer & { spoken: string[] } {
  const s = {
    name: 'fake-tts',
    sampleRate: 8000 as const,
    spoken: [] as string[],
    speak(text: string, req: SpeakRequest): Promise<void> {
      s.spoken.push(text);
      const b = behaviour();
      if (b === 'fail') return Promise.reject(new ProviderError('failed', 'synth broke'));
      if (b === 'hang') {
        req.onAudio(new Int16Array(160).fill(1000)); // first bytes arrive, the rest never does
        return new Promise((_r, reject) => req.signal.addEventListener('abort', () => reject(new ProviderError('aborted', 'x'))));
      }
      req.onAudio(new Int16Array(800).fill(5000));
      req.onAudio(new Int16Array(800).fill(5000));
      return Promise.resolve();
    },
    close(): void {},
  };
  return s;
}

interface Recorded {
  transcripts: Array<{ text: string; final: boolean; utteranceId: string }>;
  translations: Array<{ text: string; utteranceId: string }>;
  marks: string[];
  errors: string[];
  audio: number;
}

function hooks(): { hooks: SpeechHooks; rec: Recorded } {
  const rec: Recorded = { transcripts: [], translations: [], marks: [], errors: [], audio: 0 };
  return {
    rec,
    hooks: {
      transcript: (m) => rec.transcripts.push({ text: m.text, final: m.final, utteranceId: m.utteranceId }),
      translation: (m) => rec.translations.push({ text: m.text, utteranceId: m.utteranceId }),
      mark: (n) => rec.marks.push(n),
      audio: (n) => (rec.audio += n),
      error: (code) => rec.errors.push(code),
      connection: () => undefined,
    },
  };
}

function stage(translator: CascadeTranslator, synth: CascadeSynthesizer, over: { maxPendingUtterances?: number; translateTimeoutMs?: number; synthesisTimeoutMs?: number } = {}) {
  const recognizer = new FakeRecognizer();
  const { hooks: h, rec } = hooks();
  const s = new CascadeStage({
    context,
    hooks: h,
    log: logger('test.cascade'),
    languages: { source: 'en', target: 'es' },
    recognizer,
    translator,
    synthesizer: synth,
    mode: 'translated-only',
    duckGain: 0.25,
    legRate: 8000,
    translateTimeoutMs: over.translateTimeoutMs ?? 10_000,
    synthesisTimeoutMs: over.synthesisTimeoutMs ?? 10_000,
    maxPendingUtterances: over.maxPendingUtterances ?? 4,
    maxQueueSeconds: 10,
  });
  return { s, recognizer, rec };
}

const frame = (): MediaFrame => ({ ...context, pcm: new Int16Array(160), samples: 160, sampleRate: 8000, rtpTimestamp: 0, status: 'audio' });
const settle = () => new Promise((r) => setTimeout(r, 20));
async function until(p: () => boolean): Promise<void> {
  for (let i = 0; i < 3000 && !p(); i++) await settle();
  if (!p()) throw new Error('condition never held');
}

describe('CascadeStage', () => {
  it('sends audio to the recognizer, translates each final, plays the synthesis and reports its mark when played', async () => {
    const t = fakeTranslator(() => 'ok');
    const { s, recognizer, rec } = stage(t, fakeSynth());
    s.process(frame());
    s.hear({ ...frame(), heard: true });
    s.process({ ...frame(), heard: true }); // heard early: not sent twice
    expect(recognizer.frames).toBe(2);
    recognizer.say('hello', false);
    recognizer.say('hello there');
    await until(() => rec.audio === 1600);
    expect(rec.transcripts.map((x) => [x.text, x.final])).toEqual([['hello', false], ['hello there', true]]);
    expect(rec.transcripts[0]!.utteranceId).toBe(rec.transcripts[1]!.utteranceId);
    expect(rec.translations).toEqual([{ text: 'ES(hello there)', utteranceId: rec.transcripts[1]!.utteranceId }]);
    let played = 0;
    for (let i = 0; i < 12; i++) if (s.process(null) !== null) played++;
    expect(played).toBe(10); // 1600 samples = ten 20 ms frames
    expect(rec.marks).toEqual([rec.transcripts[1]!.utteranceId]);
    expect(s.providerShare()).not.toBeNull();
    s.close();
    expect(recognizer.closed).toBe(true);
    expect(t.released).toBe(1);
  });

  it('says when it is answering and when it is playing, so a new language waits for its pause', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const synth = fakeSynth();
    const speak = synth.speak.bind(synth);
    synth.speak = async (text, req) => {
      await held;
      return speak(text, req);
    };
    const { s, recognizer, rec } = stage(fakeTranslator(() => 'ok'), synth);
    expect([s.answering(), s.playing()]).toEqual([false, false]);
    // Words recognized, their final still to come.
    recognizer.say('hello', false);
    expect(s.answering()).toBe(true);
    // The final is being translated and synthesized.
    recognizer.say('hello there');
    expect(s.answering()).toBe(true);
    await until(() => rec.translations.length === 1);
    expect([s.answering(), s.playing()]).toEqual([true, false]);
    release();
    await until(() => !s.answering());
    // Its audio is queued until the listener has heard it (and its mark was reached).
    expect(s.playing()).toBe(true);
    for (let i = 0; i < 9; i++) s.process(null);
    expect(s.playing()).toBe(true);
    expect(rec.marks).toHaveLength(0);
    // The tenth 20 ms frame is the last of its 1600 samples.
    s.process(null);
    expect(rec.marks).toHaveLength(1);
    expect(s.playing()).toBe(false);
    s.close();
  });

  it('recognition time is measured from the end of speech of the same utterance only', async () => {
    const { s, recognizer, rec } = stage(fakeTranslator(() => 'ok'), fakeSynth());
    recognizer.say('one'); // the final came before Tandem's VAD heard the end
    await until(() => rec.audio === 1600);
    expect(s.providerShare()?.recognitionMs).toBe(0);
    s.speechEnded(); // the late end of 'one'
    const staleAt = performance.now();
    await new Promise((r) => setTimeout(r, 100));
    s.speechStarted();
    s.speechEnded();
    recognizer.say('two');
    const saidAt = performance.now();
    await until(() => rec.audio === 3200);
    // Measured from 'two''s own end (about 100 ms after the stale one), so it cannot include that gap. Half of it is
    // the bound: a timer may fire a hair before 100 ms by performance.now(), and the true share is near 0.
    expect(s.providerShare()!.recognitionMs).toBeLessThan(saidAt - staleAt - 50);
    s.close();
  });

  it('speechEnded asks the recognizer to finish the utterance', () => {
    const { s, recognizer } = stage(fakeTranslator(() => 'ok'), fakeSynth());
    s.speechEnded();
    expect(recognizer.ends).toBe(1);
    s.close();
  });

  it('a failing translator costs that utterance only; it is counted and the next one plays', async () => {
    let n = 0;
    const { s, recognizer, rec } = stage(fakeTranslator(() => (n++ === 0 ? 'fail' : 'ok')), fakeSynth());
    recognizer.say('one');
    recognizer.say('two');
    await until(() => rec.audio === 1600);
    expect(rec.errors).toEqual(['translate_unavailable']);
    expect(rec.translations.map((x) => x.text)).toEqual(['ES(two)']);
    expect(s.stats()).toMatchObject({ translateFailures: 1, utterancesDone: 1 });
    s.close();
  });

  it('a translator that never answers times out, and a synthesizer that stalls after its first bytes too', async () => {
    let tn = 0;
    let sn = 0;
    const { s, recognizer, rec } = stage(fakeTranslator(() => (tn++ === 0 ? 'hang' : 'ok')), fakeSynth(() => (sn++ === 0 ? 'hang' : 'ok')), {
      translateTimeoutMs: 50,
      synthesisTimeoutMs: 50,
    });
    recognizer.say('one');
    recognizer.say('two');
    recognizer.say('three');
    await until(() => s.stats().utterancesDone === 1);
    expect(rec.errors).toEqual(['translate_timeout', 'synthesis_timeout']);
    expect(s.stats()).toMatchObject({ timeouts: 2, translateFailures: 1, synthesisFailures: 1 });
    // The stalled synthesis's first bytes were queued and play: what arrived is not thrown away.
    expect(rec.audio).toBe(160 + 1600);
    s.close();
  });

  it('bounds the utterances waiting behind a slow one, dropping the oldest', async () => {
    let first = true;
    const t = fakeTranslator(() => {
      if (first) {
        first = false;
        return 'hang';
      }
      return 'ok';
    });
    const { s, recognizer } = stage(t, fakeSynth(), { maxPendingUtterances: 2, translateTimeoutMs: 100 });
    for (const w of ['a', 'b', 'c', 'd', 'e']) recognizer.say(w);
    expect(s.stats()).toMatchObject({ utterancesDropped: 2, pending: 3 });
    await until(() => s.stats().pending === 0);
    expect(t.calls).toEqual(['a', 'd', 'e']);
    s.close();
  });

  it('flush (barge-in, clear) drops queued audio, the utterance in progress and those waiting', async () => {
    let n = 0;
    const { s, recognizer, rec } = stage(fakeTranslator(() => 'ok'), fakeSynth(() => (n++ === 0 ? 'ok' : 'hang')));
    recognizer.say('one');
    await until(() => rec.audio === 1600);
    recognizer.say('two');
    recognizer.say('three');
    await until(() => rec.audio === 1760);
    s.flush();
    expect(s.process(null)).toBeNull();
    expect(s.stats()).toMatchObject({ clearedSamples: 1760, utterancesDropped: 1 });
    await until(() => s.stats().pending === 0);
    expect(rec.errors).toEqual([]); // an abort is not a provider failure
    // The first utterance's mark is reported: its audio will never play now.
    expect(rec.marks).toHaveLength(1);
    s.close();
  });

  it('after close, process returns null and late transcripts are ignored', () => {
    const { s, recognizer, rec } = stage(fakeTranslator(() => 'ok'), fakeSynth());
    s.close();
    s.close();
    expect(s.process(frame())).toBeNull();
    recognizer.say('late');
    expect(rec.transcripts).toEqual([]);
  });
});
