import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCascade } from '../../../engine/src/pipeline/cascade/probe.js';
import { parsePairTranslation } from '../../../engine/src/pipeline/translation/config.js';
import type { CascadeProvider } from '../../../engine/src/pipeline/translation/config.js';
import { DeepgramDouble } from '../../../tools/doubles/deepgram-server.js';
import { DeeplDouble } from '../../../tools/doubles/deepl-server.js';
import { ElevenLabsDouble } from '../../../tools/doubles/elevenlabs-server.js';

function cascade(provider: object): CascadeProvider {
  const t = parsePairTranslation({ provider: { kind: 'cascade', ...provider }, languages: { A: 'en-US', B: 'es-MX' } });
  if (t.provider.kind !== 'cascade') throw new Error('not a cascade');
  return t.provider;
}

describe('probeCascade (verify-config for a cascade) against the doubles', () => {
  let deepgram: DeepgramDouble;
  let deepl: DeeplDouble;
  let eleven: ElevenLabsDouble;
  beforeAll(async () => {
    deepgram = await DeepgramDouble.start({ apiKey: 'dg-key', script: ['x'] });
    deepl = await DeeplDouble.start({ authKey: 'deepl-key' });
    eleven = await ElevenLabsDouble.start({ apiKey: 'xi-key' });
  });
  afterAll(async () => {
    await deepgram?.close();
    await deepl?.close();
    await eleven?.close();
  });

  it('passes the offline cascade: Deepgram key accepted, Apertium both ways, espeak-ng voices', async () => {
    const probes = await probeCascade(
      cascade({ recognizer: { kind: 'deepgram', url: deepgram.url, apiKey: 'dg-key' }, translator: { kind: 'apertium' }, synthesizer: { kind: 'espeak-ng' } }),
      { A: 'en-US', B: 'es-MX' },
    );
    expect(probes.map((p) => [p.name.split(' (')[0], p.ok])).toEqual([
      ['cascade recognizer deepgram', true],
      ['cascade translator apertium en-US→es-MX', true],
      ['cascade translator apertium es-MX→en-US', true],
      ['cascade synthesizer espeak-ng', true],
    ]);
    expect(probes[1]!.detail.toLowerCase()).toContain('hola');
  }, 60_000);

  it('names refused keys and a missing language pair, never showing a key', async () => {
    const probes = await probeCascade(
      cascade({
        recognizer: { kind: 'deepgram', url: deepgram.url, apiKey: 'wrong-dg-key' },
        translator: { kind: 'deepl', serverUrl: deepl.url, authKey: 'wrong-deepl-key' },
        synthesizer: { kind: 'elevenlabs', url: eleven.url, apiKey: 'wrong-xi-key', voiceId: 'v1' },
      }),
      { A: 'en-US', B: 'es-MX' },
    );
    expect(probes.map((p) => p.ok)).toEqual([false, false, false]);
    expect(probes[0]!.detail).toMatch(/key refused \(HTTP 401\)/);
    expect(probes[1]!.detail).toMatch(/deepl/i);
    expect(probes[2]!.detail).toMatch(/key refused \(HTTP 401\)/);
    expect(JSON.stringify(probes)).not.toMatch(/wrong-(dg|deepl|xi)-key/);
    const apertium = await probeCascade(
      cascade({ recognizer: { kind: 'deepgram', url: deepgram.url, apiKey: 'dg-key' }, translator: { kind: 'apertium' }, synthesizer: { kind: 'elevenlabs', url: eleven.url, apiKey: 'xi-key', voiceId: 'v1' } }),
      { A: 'en', B: 'ja' },
    );
    expect(apertium.find((p) => p.name.includes('en→ja'))).toMatchObject({ ok: false });
    expect(apertium.find((p) => p.name.includes('elevenlabs'))).toMatchObject({ ok: true });
  }, 60_000);
});
