import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeCascade } from '../../../engine/src/pipeline/cascade/probe.js';
import { parsePairTranslation, type CascadeProvider } from '../../../engine/src/pipeline/translation/config.js';
import { AzureSpeechDouble } from '../../../tools/doubles/azure-speech-server.js';
import { AzureTranslatorDouble } from '../../../tools/doubles/azure-translator-server.js';
import { AzureTtsDouble } from '../../../tools/doubles/azure-tts-server.js';

function cascade(provider: object): CascadeProvider {
  const t = parsePairTranslation({ provider: { kind: 'cascade', ...provider }, languages: { A: 'en-US', B: 'es-MX' } });
  if (t.provider.kind !== 'cascade') throw new Error('not a cascade');
  return t.provider;
}

describe('probeCascade (verify-config) with the Azure parts, against their doubles', () => {
  let stt: AzureSpeechDouble;
  let translator: AzureTranslatorDouble;
  let tts: AzureTtsDouble;
  beforeAll(async () => {
    stt = await AzureSpeechDouble.start({ key: 'speech-key', script: ['x'] });
    translator = await AzureTranslatorDouble.start({ key: 'translator-key', region: 'westeurope', dictionary: { 'Hello.': 'Hola.' } });
    tts = await AzureTtsDouble.start({ key: 'speech-key', voices: ['en-US-JennyNeural', 'es-MX-DaliaNeural'] });
  });
  afterAll(async () => {
    await stt?.close();
    await translator?.close();
    await tts?.close();
  });

  const parts = (keys: { speech: string; translator: string }, voices: Record<string, string> = {}) =>
    cascade({
      recognizer: { kind: 'azure', region: 'westeurope', url: stt.url, key: keys.speech },
      translator: { kind: 'azure', url: translator.url, key: keys.translator, region: 'westeurope' },
      synthesizer: { kind: 'azure', region: 'westeurope', url: tts.url, key: keys.speech, voices },
    });

  it('passes with good keys: the upgrade is accepted, "Hello." translates, both voices exist', async () => {
    const probes = await probeCascade(parts({ speech: 'speech-key', translator: 'translator-key' }), { A: 'en-US', B: 'es-MX' });
    expect(probes.map((p) => [p.name.split(' (')[0], p.ok])).toEqual([
      ['cascade recognizer azure', true],
      ['cascade translator azure', true],
      ['cascade synthesizer azure', true],
    ]);
    expect(probes[1]!.detail).toContain('Hola.');
    expect(probes[2]!.detail).toBe('voices es-MX-DaliaNeural, en-US-JennyNeural');
    // The recognizer probe sent no audio: the session saw no turn.
    expect(stt.sessions.at(-1)?.turns ?? []).toHaveLength(0);
  });

  it('names refused keys and a voice the service lacks, never showing a key', async () => {
    const probes = await probeCascade(parts({ speech: 'wrong-speech-key', translator: 'wrong-translator-key' }), { A: 'en-US', B: 'es-MX' });
    expect(probes.map((p) => p.ok)).toEqual([false, false, false]);
    expect(probes[0]!.detail).toMatch(/key refused \(HTTP 401\)/);
    expect(probes[1]!.detail).toMatch(/HTTP 401/);
    expect(probes[2]!.detail).toMatch(/HTTP 401/);
    expect(JSON.stringify(probes)).not.toMatch(/wrong-(speech|translator)-key/);
    const voice = await probeCascade(parts({ speech: 'speech-key', translator: 'translator-key' }, { es: 'es-ES-NobodyNeural' }), { A: 'en-US', B: 'es-MX' });
    expect(voice[2]).toMatchObject({ ok: false, detail: 'no voice for es-MX (es-ES-NobodyNeural)' });
  });
});
