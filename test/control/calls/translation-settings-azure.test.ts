import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { translationFromEnv } from '../../../control/src/calls/translation-settings.js';

const AZURE = {
  TANDEM_TRANSLATE_PROVIDER: 'cascade',
  TANDEM_CASCADE_RECOGNIZER: 'azure',
  TANDEM_CASCADE_TRANSLATOR: 'azure',
  TANDEM_CASCADE_SYNTHESIZER: 'azure',
  AZURE_SPEECH_KEY: 'speech-secret',
  TANDEM_AZURE_SPEECH_REGION: 'westeurope',
  AZURE_TRANSLATOR_KEY: 'translator-secret',
};

function errorOf(env: Record<string, string>): string {
  try {
    translationFromEnv(env);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('Azure cascade parts from the environment', () => {
  it('builds all three Azure parts with the region-derived defaults left to the engine', () => {
    const t = translationFromEnv({ ...AZURE, TANDEM_AZURE_TRANSLATOR_REGION: 'westeurope', TANDEM_AZURE_TTS_VOICES: 'es-MX=es-MX-JorgeNeural, en=en-US-GuyNeural' });
    expect(t?.provider).toEqual({
      kind: 'cascade',
      recognizer: { kind: 'azure', key: 'speech-secret', region: 'westeurope', segmentationSilenceMs: 500, maxPendingMs: 2000, turnEndTimeoutMs: 5000 },
      translator: { kind: 'azure', key: 'translator-secret', region: 'westeurope', url: 'https://api.cognitive.microsofttranslator.com' },
      synthesizer: { kind: 'azure', key: 'speech-secret', region: 'westeurope', voices: { 'es-MX': 'es-MX-JorgeNeural', en: 'en-US-GuyNeural' } },
      byDirection: {},
      translateTimeoutMs: 5000,
      synthesisTimeoutMs: 15_000,
      maxPendingUtterances: 4,
      maxQueueSeconds: 30,
    });
  });

  it('mixes with the other providers and reads keys from files', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'speech');
    writeFileSync(file, 'speech-from-file\n');
    const t = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', TANDEM_CASCADE_RECOGNIZER: 'azure', AZURE_SPEECH_KEY_FILE: file, TANDEM_AZURE_SPEECH_REGION: 'eastus', TANDEM_AZURE_STT_URL: 'ws://127.0.0.1:9/stt' });
    expect(t?.provider).toMatchObject({
      recognizer: { kind: 'azure', key: 'speech-from-file', region: 'eastus', url: 'ws://127.0.0.1:9/stt' },
      translator: { kind: 'apertium' },
      synthesizer: { kind: 'espeak-ng' },
    });
  });

  it('names the missing or wrong variable and never shows a key', () => {
    expect(errorOf({ ...AZURE, AZURE_SPEECH_KEY: '' })).toMatch(/AZURE_SPEECH_KEY is required/);
    expect(errorOf({ ...AZURE, TANDEM_AZURE_SPEECH_REGION: '' })).toMatch(/TANDEM_AZURE_SPEECH_REGION is required/);
    expect(errorOf({ ...AZURE, AZURE_TRANSLATOR_KEY: '' })).toMatch(/AZURE_TRANSLATOR_KEY is required/);
    const cases: Array<[Record<string, string>, string]> = [
      [{ TANDEM_AZURE_SPEECH_REGION: 'West Europe' }, 'TANDEM_AZURE_SPEECH_REGION'],
      [{ TANDEM_AZURE_STT_URL: 'https://not-ws' }, 'TANDEM_AZURE_STT_URL'],
      [{ TANDEM_AZURE_TTS_URL: 'ws://not-http' }, 'TANDEM_AZURE_TTS_URL'],
      [{ TANDEM_AZURE_TRANSLATOR_URL: 'nope' }, 'TANDEM_AZURE_TRANSLATOR_URL'],
      [{ TANDEM_AZURE_TTS_VOICES: 'es-MX' }, 'TANDEM_AZURE_TTS_VOICES'],
      [{ TANDEM_AZURE_TTS_VOICES: 'es-MX=not a voice' }, 'TANDEM_AZURE_TTS_VOICES'],
    ];
    for (const [over, variable] of cases) {
      const message = errorOf({ ...AZURE, ...over });
      expect(message).toContain(variable);
      expect(message).not.toMatch(/speech-secret|translator-secret/);
    }
  });
});
