import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCascade } from '../../../engine/src/pipeline/cascade/probe.js';
import { sharedCount } from '../../../engine/src/pipeline/cascade/shared.js';
import { parsePairTranslation, type CascadeProvider } from '../../../engine/src/pipeline/translation/config.js';
import { GoogleDouble } from '../../../tools/doubles/google-server.js';

function cascade(provider: object): CascadeProvider {
  const t = parsePairTranslation({ provider: { kind: 'cascade', ...provider }, languages: { A: 'en-US', B: 'es-US' } });
  if (t.provider.kind !== 'cascade') throw new Error('not a cascade');
  return t.provider;
}

const google = (endpoint: string, apiKey: string, extra: object = {}) => ({ kind: 'google', endpoint, tls: false, apiKey, ...extra });

describe('probeCascade with the Google parts against the Google double', () => {
  let double: GoogleDouble;
  beforeAll(async () => {
    double = await GoogleDouble.start({ apiKey: 'g-key', dictionary: { 'Hello.': 'Hola.' } });
  });
  afterAll(async () => {
    await double?.close();
  });

  it('passes with the right key: a stream with config only, one translation, voices for both languages', async () => {
    const probes = await probeCascade(
      cascade({
        recognizer: google(double.endpoint, 'g-key'),
        translator: google(double.endpoint, 'g-key', { projectId: 'tandem-test' }),
        synthesizer: google(double.endpoint, 'g-key', { voices: { 'es-US': 'es-US-Standard-A' } }),
      }),
      { A: 'en-US', B: 'es-US' },
    );
    expect(probes.map((p) => [p.name.split(' (')[0], p.ok])).toEqual([
      ['cascade recognizer google', true],
      ['cascade translator google en-US→es-US', true],
      ['cascade synthesizer google', true],
    ]);
    expect(probes[1]!.detail).toContain('Hola.');
    expect(probes[2]!.detail).toBe('voices es-US-Standard-A, en-US-Standard-C');
    // The recognizer probe sent its config and no audio.
    expect(double.speechSessions.at(-1)).toMatchObject({ audioBytes: 0, halfClosed: true, status: 'OK' });
    expect(sharedCount()).toBe(0);
  });

  it('names a refused key and a voice the service does not offer, never showing the key', async () => {
    const probes = await probeCascade(
      cascade({
        recognizer: google(double.endpoint, 'wrong-google-key'),
        translator: google(double.endpoint, 'wrong-google-key', { projectId: 'tandem-test' }),
        synthesizer: google(double.endpoint, 'wrong-google-key'),
      }),
      { A: 'en-US', B: 'es-US' },
    );
    expect(probes.map((p) => p.ok)).toEqual([false, false, false]);
    expect(probes[0]!.detail).toBe('key refused (UNAUTHENTICATED)');
    expect(probes[1]!.detail).toMatch(/UNAUTHENTICATED/);
    expect(probes[2]!.detail).toBe('key refused (UNAUTHENTICATED)');
    expect(JSON.stringify(probes)).not.toContain('wrong-google-key');
    const voice = await probeCascade(
      cascade({ recognizer: google(double.endpoint, 'g-key'), translator: { kind: 'apertium' }, synthesizer: google(double.endpoint, 'g-key', { voices: { es: 'es-XX-Imaginary-Z' } }) }),
      { A: 'en-US', B: 'es-US' },
    );
    expect(voice.find((p) => p.name.startsWith('cascade synthesizer google'))).toMatchObject({ ok: false, detail: 'voice es-XX-Imaginary-Z not offered for es-US' });
  }, 60_000);
});
