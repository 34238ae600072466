import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EspeakSynthesizer,
  ProviderError,
  parseVoiceList,
  resolveVoice,
  type EspeakSynthesizerDeps,
  type EspeakSynthesizerOptions,
  type ProviderSessionContext,
} from '../../../../engine/src/pipeline/providers/index.js';
import { rms, waitFor } from '../helpers.js';

/** A text espeak-ng needs a few hundred ms for (about 90 s of speech), so its process is surely still running. */
const LONG_TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(40);

const open: EspeakSynthesizer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** A synthesizer that tracks its children: how many are alive, the most at once, and how each ended. */
function tracked(options: EspeakSynthesizerOptions = {}, onSpawn?: EspeakSynthesizerDeps['onSpawn']) {
  const children: ChildProcess[] = [];
  const exited: Array<Promise<void>> = [];
  let live = 0;
  let maxLive = 0;
  const synth = new EspeakSynthesizer(options, {
    onSpawn: (child, command) => {
      children.push(child);
      live++;
      maxLive = Math.max(maxLive, live);
      exited.push(
        new Promise((resolve) =>
          child.once('close', () => {
            live--;
            resolve();
          }),
        ),
      );
      onSpawn?.(child, command);
    },
  });
  open.push(synth);
  return { synth, children, allExited: () => Promise.all(exited), live: () => live, maxLive: () => maxLive };
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a rejection');
}

const CONTEXT: ProviderSessionContext = {
  pairId: 'pair_1',
  srcExt: '7000',
  dstExt: '7001',
  direction: 'A->B',
  sourceLanguage: 'en-US',
  targetLanguage: 'es-MX',
  sampleRate: 8000,
};

describe('EspeakSynthesizer', () => {
  it('speaks "hello world" in en and es at 8 and 16 kHz: audible PCM of a plausible length', async () => {
    const { synth } = tracked();
    await synth.connect();
    const cases = [
      { language: 'en', sampleRate: 8000 },
      { language: 'en-US', sampleRate: 16000 },
      { language: 'es', sampleRate: 8000 },
      { language: 'es-MX', sampleRate: 16000 },
    ] as const;
    const results = await Promise.all(cases.map((c) => synth.synthesize('hello world', c)));
    results.forEach((pcm, i) => {
      const seconds = pcm.length / cases[i]!.sampleRate;
      expect(seconds).toBeGreaterThan(0.5);
      expect(seconds).toBeLessThan(3);
      expect(rms(pcm, pcm.length)).toBeGreaterThan(300);
    });
    const stats = synth.stats();
    expect(stats).toMatchObject({ calls: 4, succeeded: 4, failures: 0, running: 0, queued: 0, processes: 0 });
    expect(stats.p50Ms).toBeGreaterThan(0);
    expect(stats.p99Ms).toBeGreaterThanOrEqual(stats.p50Ms);
  });

  it('maps BCP 47 tags onto the installed espeak-ng voices', async () => {
    const { synth } = tracked();
    const expected: Record<string, string> = {
      en: 'en-gb',
      'en-US': 'en-us',
      EN_us: 'en-us',
      'en-GB': 'en-gb',
      'en-CA': 'en-us',
      es: 'es',
      'es-ES': 'es',
      'es-MX': 'es-419',
      'es-AR': 'es-419',
      'es-419': 'es-419',
      fr: 'fr-fr',
      'fr-CA': 'fr-fr',
      de: 'de',
      'de-AT': 'de',
      it: 'it',
      'pt-BR': 'pt-br',
      pt: 'pt',
      'zh-Hans-CN': 'cmn',
      'zh-HK': 'yue',
      no: 'nb',
    };
    for (const [tag, voice] of Object.entries(expected)) expect([tag, await synth.voiceFor(tag)]).toEqual([tag, voice]);
  });

  it('rejects a language it has no voice for with unsupported_language, without running espeak-ng on the text', async () => {
    const { synth, children } = tracked();
    for (const language of ['xx-YY', 'tlh-QQ', 'not a tag', '--help']) {
      const err = await rejection(synth.synthesize('hello', { language, sampleRate: 8000 }));
      expect([language, err.code]).toEqual([language, 'unsupported_language']);
    }
    expect(children).toHaveLength(0);
    expect(synth.stats().failures).toBe(4);
  });

  it('refuses text over the cap and a rate it does not produce', async () => {
    const { synth } = tracked({ maxTextLength: 20 });
    expect((await rejection(synth.synthesize('x'.repeat(21), { language: 'en', sampleRate: 8000 }))).code).toBe('text_too_long');
    const badRate = { language: 'en', sampleRate: 44100 } as unknown as { language: string; sampleRate: 8000 };
    expect((await rejection(synth.synthesize('hi', badRate))).code).toBe('invalid_input');
    expect(await synth.synthesize('   ', { language: 'en', sampleRate: 8000 })).toHaveLength(0);
  });

  it('an abort kills the running process', async () => {
    const controller = new AbortController();
    const { synth, children, allExited } = tracked({}, (_child, command) => {
      if (command === 'espeak-ng') controller.abort();
    });
    const err = await rejection(synth.synthesize(LONG_TEXT, { language: 'en', sampleRate: 8000, signal: controller.signal }));
    expect(err.code).toBe('aborted');
    await allExited();
    expect(children).toHaveLength(1);
    expect(children[0]!.signalCode).toBe('SIGKILL');
    // The slot frees once the killed process is gone.
    await waitFor(() => synth.stats().running === 0, 5000, 'slot released');
    expect(synth.stats()).toMatchObject({ aborted: 1, processes: 0, running: 0 });
    // Already aborted: refused before anything runs.
    expect((await rejection(synth.synthesize('hi', { language: 'en', sampleRate: 8000, signal: controller.signal }))).code).toBe('aborted');
    expect(children).toHaveLength(1);
  });

  it('a call that overruns its timeout is rejected and its process killed', async () => {
    const { synth, allExited, children } = tracked({ timeoutMs: 30 });
    await synth.connect();
    const err = await rejection(synth.synthesize(LONG_TEXT, { language: 'en', sampleRate: 8000 }));
    expect(err.code).toBe('timeout');
    await allExited();
    expect(children.length).toBeGreaterThan(0);
    expect(children.at(-1)!.signalCode).toBe('SIGKILL');
    expect(synth.stats()).toMatchObject({ timeouts: 1, processes: 0 });
  });

  it('runs at most maxConcurrent processes, queues up to maxQueued, and rejects beyond that at once', async () => {
    const { synth, maxLive } = tracked({ maxConcurrent: 2, maxQueued: 3 });
    await synth.connect();
    const calls = Array.from({ length: 6 }, (_, i) => synth.synthesize(`${LONG_TEXT.slice(0, 400)} ${i}`, { language: 'en', sampleRate: 16000 }));
    expect(synth.stats()).toMatchObject({ running: 2, queued: 3, overloaded: 1 });
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const last = settled[5]!;
    expect(last.status === 'rejected' && (last.reason as ProviderError).code).toBe('overloaded');
    expect(maxLive()).toBe(2);
    expect(synth.stats()).toMatchObject({ peakProcesses: 2, processes: 0, succeeded: 5, failures: 1 });
  });

  it('close() rejects queued calls, kills running ones and refuses new ones; idempotent', async () => {
    let onFirstSpawn!: () => void;
    const spawned = new Promise<void>((resolve) => (onFirstSpawn = resolve));
    const { synth, children, allExited } = tracked({ maxConcurrent: 1 }, () => onFirstSpawn());
    await synth.connect();
    const calls = [0, 1, 2].map(() => synth.synthesize(LONG_TEXT, { language: 'en', sampleRate: 8000 }));
    await spawned;
    const first = synth.close();
    expect(synth.close()).toBe(first);
    const codes = (await Promise.allSettled(calls)).map((s) => (s.status === 'rejected' ? (s.reason as ProviderError).code : 'fulfilled'));
    expect(codes).toEqual(['closed', 'closed', 'closed']);
    await first;
    await allExited();
    expect(children).toHaveLength(1);
    expect(children[0]!.signalCode).toBe('SIGKILL');
    expect(synth.stats()).toMatchObject({ processes: 0, running: 0, queued: 0 });
    expect((await rejection(synth.synthesize('hi', { language: 'en', sampleRate: 8000 }))).code).toBe('closed');
    expect(() => synth.openSession(CONTEXT)).toThrow(ProviderError);
  });

  it('a session speaks its target language at its rate; closing it cancels only its own calls', async () => {
    const { synth } = tracked();
    const a = synth.openSession(CONTEXT);
    const b = synth.openSession({ ...CONTEXT, direction: 'B->A', targetLanguage: 'en-US', sampleRate: 16000 });
    const pcm = await a.synthesize('hola mundo');
    expect(pcm.length / 8000).toBeGreaterThan(0.5);
    expect(a.context.targetLanguage).toBe('es-MX');

    const pendingA = a.synthesize(LONG_TEXT);
    const pendingB = b.synthesize('hello world');
    a.close();
    expect(a.closed).toBe(true);
    expect((await rejection(pendingA)).code).toBe('closed');
    const fromB = await pendingB;
    expect(fromB.length / 16000).toBeGreaterThan(0.5);
    expect((await rejection(a.synthesize('again'))).code).toBe('closed');
    await synth.close();
    expect(b.closed).toBe(true);
  });

  it('parses the voice list: own codes first, then the best-priority alias', () => {
    const table = parseVoiceList(
      [
        'Pty Language       Age/Gender VoiceName          File                 Other Languages',
        ' 5  en-029          --/M      English_(Caribbean) gmw/en-029           (en 10)',
        ' 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)',
        ' 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)',
        ' 5  es-419          --/M      Spanish_(Latin_America) roa/es-419           (es-mx 6)(es 6)',
        ' 5  es              --/M      Spanish_(Spain)    roa/es               ',
      ].join('\n'),
    );
    expect(table.get('en')).toBe('en-gb');
    expect(table.get('es')).toBe('es');
    expect(table.get('es-mx')).toBe('es-419');
    expect(resolveVoice(table, 'en-NZ')).toBe('en-gb');
    expect(resolveVoice(table, 'en-NZ', { 'en-nz': 'en-us' })).toBe('en-us');
    expect(() => resolveVoice(table, 'fr')).toThrow(ProviderError);
  });
});
