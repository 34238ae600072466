import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../common/src/errors.js';
import { languagesFromStasisArgs, pairTranslationFor, translationFromEnv } from '../../../control/src/calls/translation-settings.js';

describe('translation settings', () => {
  it('is off unless a provider is named', () => {
    expect(translationFromEnv({ TANDEM_LANG_A: 'fr' })).toBeUndefined();
  });

  it('builds a Tandem-protocol default from the environment, with defaults filled in', () => {
    const t = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://127.0.0.1:9000/', TANDEM_TRANSLATE_TOKEN: 'tok', TANDEM_LANG_A: 'es-MX' });
    expect(t).toMatchObject({
      provider: { kind: 'tandem', url: 'ws://127.0.0.1:9000/', token: 'tok', sampleRate: 16000 },
      languages: { A: 'es-MX', B: 'es' },
      directions: ['A->B', 'B->A'],
      mode: 'translated-only',
      vad: { enabled: true },
      bargeIn: true,
      between: 'silence',
    });
    const paused = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://127.0.0.1:9000/', TANDEM_TRANSLATE_BETWEEN: 'nothing' });
    expect(paused?.between).toBe('nothing');
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://x/', TANDEM_TRANSLATE_BETWEEN: 'noise' })).toThrow(/TANDEM_TRANSLATE_BETWEEN/);
    const live = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://x/', TANDEM_TRANSLATE_LIVENESS_INTERVAL_MS: '500', TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS: '1500' });
    expect(live?.provider).toMatchObject({ livenessIntervalMs: 500, livenessTimeoutMs: 1500 });
    expect(t?.provider).not.toHaveProperty('livenessIntervalMs');
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://x/', TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS: '0' })).toThrow(/TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS/);
  });

  it('names the missing or bad variable', () => {
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem' })).toThrow(ConfigError);
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem' })).toThrow(/TANDEM_TRANSLATE_URL/);
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'openai-realtime', TANDEM_TRANSLATE_URL: 'wss://x/' })).toThrow(/OPENAI_API_KEY/);
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'http://x/' })).toThrow(/url/i);
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://x/', TANDEM_LANG_B: 'not a tag' })).toThrow(/^TANDEM_LANG_B="not a tag" is invalid/);
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'deepl' })).toThrow(/TANDEM_TRANSLATE_PROVIDER/);
  });

  it('reads per-call languages from Stasis arguments and ignores the rest', () => {
    expect(languagesFromStasisArgs(['lang_a=fr', 'LANG_B=de-AT'])).toEqual({ override: { A: 'fr', B: 'de-AT' }, ignored: [] });
    expect(languagesFromStasisArgs(['lang_a=', 'lang_c=fr', 'lang_b=x y', 'hello'])).toEqual({ override: {}, ignored: ['lang_a=', 'lang_c=fr', 'lang_b=x y', 'hello'] });
  });

  it('applies a call override on top of the default, and never invents translation', () => {
    const defaults = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'tandem', TANDEM_TRANSLATE_URL: 'ws://127.0.0.1:1/' })!;
    expect(pairTranslationFor(defaults, { B: 'it' })?.languages).toEqual({ A: 'en', B: 'it' });
    expect(pairTranslationFor(defaults, {})).toBe(defaults);
    expect(pairTranslationFor(undefined, { A: 'fr' })).toBeUndefined();
  });
});

describe('cascade translation settings from the environment', () => {
  it('builds the offline cascade (Deepgram → Apertium → espeak-ng) by default', () => {
    const t = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY: 'dg', TANDEM_DEEPGRAM_URL: 'ws://127.0.0.1:9/v1/listen', TANDEM_LANG_B: 'es-MX' });
    expect(t?.provider).toMatchObject({
      kind: 'cascade',
      recognizer: { kind: 'deepgram', apiKey: 'dg', url: 'ws://127.0.0.1:9/v1/listen', model: 'nova-3' },
      translator: { kind: 'apertium', modesDir: '/usr/share/apertium/modes' },
      synthesizer: { kind: 'espeak-ng' },
    });
    expect(t?.languages).toEqual({ A: 'en', B: 'es-MX' });
  });

  it('builds DeepL + ElevenLabs, reading a key from a file', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'keys-')), 'deepl');
    writeFileSync(file, 'deepl-from-file\n');
    const t = translationFromEnv({
      TANDEM_TRANSLATE_PROVIDER: 'cascade',
      DEEPGRAM_API_KEY: 'dg',
      TANDEM_CASCADE_TRANSLATOR: 'deepl',
      DEEPL_AUTH_KEY_FILE: file,
      TANDEM_DEEPL_FORMALITY: 'less',
      TANDEM_CASCADE_SYNTHESIZER: 'elevenlabs',
      ELEVENLABS_API_KEY: 'xi',
      TANDEM_ELEVENLABS_VOICE_ID: 'voice1',
    });
    expect(t?.provider).toMatchObject({
      translator: { kind: 'deepl', authKey: 'deepl-from-file', formality: 'less' },
      synthesizer: { kind: 'elevenlabs', apiKey: 'xi', voiceId: 'voice1', modelId: 'eleven_flash_v2_5' },
    });
  });

  it('names the missing key, and never shows a key in an error', () => {
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade' })).toThrow(/DEEPGRAM_API_KEY is required/);
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY: 'dg', TANDEM_CASCADE_SYNTHESIZER: 'elevenlabs', ELEVENLABS_API_KEY: 'xi' })).toThrow(
      /TANDEM_ELEVENLABS_VOICE_ID is required/,
    );
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY_FILE: '/nonexistent/key' })).toThrow(/DEEPGRAM_API_KEY_FILE.*cannot read/);
    let message = '';
    try {
      translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY: 'super-secret-value', TANDEM_DEEPGRAM_URL: 'http://not-ws' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/TANDEM_DEEPGRAM_URL/);
    expect(message).not.toContain('super-secret-value');
  });
});

describe('cascade per direction, fallback and early translation from the environment', () => {
  const base = { TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY: 'dg' };

  it('chooses a part per direction, with a voice per direction, and leaves the other direction alone', () => {
    const t = translationFromEnv({
      ...base,
      TANDEM_CASCADE_B_TO_A_TRANSLATOR: 'deepl',
      DEEPL_AUTH_KEY: 'dk',
      TANDEM_CASCADE_SYNTHESIZER: 'elevenlabs',
      ELEVENLABS_API_KEY: 'xi',
      TANDEM_ELEVENLABS_VOICE_ID: 'spanishVoice',
      TANDEM_ELEVENLABS_VOICE_ID_B_TO_A: 'englishVoice',
      TANDEM_ELEVENLABS_WARM: 'false',
    });
    expect(t?.provider).toMatchObject({
      translator: { kind: 'apertium' },
      synthesizer: { kind: 'elevenlabs', voiceId: 'spanishVoice', warm: false },
      byDirection: {
        'B->A': { translator: { kind: 'deepl', authKey: 'dk' }, synthesizer: { kind: 'elevenlabs', voiceId: 'englishVoice', warm: false } },
      },
    });
    expect(t?.provider.kind === 'cascade' && t.provider.byDirection['A->B']).toBeUndefined();
  });

  it('builds the offline fallback and early translation', () => {
    const t = translationFromEnv({
      ...base,
      TANDEM_CASCADE_TRANSLATOR: 'deepl',
      DEEPL_AUTH_KEY: 'dk',
      TANDEM_CASCADE_FALLBACK_TRANSLATOR: 'apertium',
      TANDEM_CASCADE_FALLBACK_SYNTHESIZER: 'espeak-ng',
      TANDEM_CASCADE_FALLBACK_AFTER_FAILURES: '3',
      TANDEM_CASCADE_FALLBACK_PROBE_MS: '10000',
      TANDEM_CASCADE_EARLY_TRANSLATION: 'true',
      TANDEM_CASCADE_EARLY_MIN_WORDS: '4',
    });
    expect(t?.provider).toMatchObject({
      fallback: { translator: { kind: 'apertium' }, synthesizer: { kind: 'espeak-ng' }, afterFailures: 3, probeInitialMs: 10_000, stallMs: 2000 },
      earlyTranslation: { enabled: true, minWords: 4, stablePartials: 2 },
    });
    // Unset: no fallback, early translation off.
    expect(translationFromEnv(base)?.provider).toMatchObject({ earlyTranslation: { enabled: false } });
    expect(translationFromEnv(base)?.provider).not.toHaveProperty('fallback');
  });

  it('names the variable that is wrong, and the one that asked for a missing key', () => {
    expect(() => translationFromEnv({ ...base, TANDEM_CASCADE_A_TO_B_SYNTHESIZER: 'polly' })).toThrow(/TANDEM_CASCADE_A_TO_B_SYNTHESIZER="polly" is invalid/);
    expect(() => translationFromEnv({ ...base, TANDEM_CASCADE_B_TO_A_TRANSLATOR: 'deepl' })).toThrow(/DEEPL_AUTH_KEY is required: .*needed for TANDEM_CASCADE_B_TO_A_TRANSLATOR=deepl/);
    expect(() => translationFromEnv({ ...base, TANDEM_CASCADE_EARLY_TRANSLATION: 'maybe' })).toThrow(/TANDEM_CASCADE_EARLY_TRANSLATION="maybe" is invalid: expected true or false/);
    expect(() => translationFromEnv({ ...base, TANDEM_CASCADE_FALLBACK_TRANSLATOR: 'apertium', TANDEM_CASCADE_FALLBACK_STALL_MS: '10' })).toThrow(/TANDEM_CASCADE_FALLBACK_STALL_MS="10" is invalid/);
    expect(() => translationFromEnv({ ...base, TANDEM_CASCADE_EARLY_MIN_WORDS: 'x' })).toThrow(/TANDEM_CASCADE_EARLY_MIN_WORDS="x" is invalid/);
    let message = '';
    try {
      translationFromEnv({ ...base, TANDEM_CASCADE_A_TO_B_SYNTHESIZER: 'elevenlabs', ELEVENLABS_API_KEY: 'xi-secret', TANDEM_ELEVENLABS_VOICE_ID_A_TO_B: 'bad voice!' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/TANDEM_ELEVENLABS_VOICE_ID_A_TO_B="bad voice!" is invalid: must be an ElevenLabs voice id/);
    expect(message).not.toContain('xi-secret');
  });
});

describe('Google cascade parts from the environment', () => {
  it('builds Google recognizer, translator and synthesizer with one key, endpoints and voices', () => {
    const t = translationFromEnv({
      TANDEM_TRANSLATE_PROVIDER: 'cascade',
      TANDEM_CASCADE_RECOGNIZER: 'google',
      TANDEM_CASCADE_TRANSLATOR: 'google',
      TANDEM_CASCADE_SYNTHESIZER: 'google',
      GOOGLE_API_KEY: 'g-key',
      TANDEM_GOOGLE_PROJECT: 'tandem-prod',
      TANDEM_GOOGLE_SPEECH_ENDPOINT: '127.0.0.1:7001',
      TANDEM_GOOGLE_TLS: 'false',
      TANDEM_GOOGLE_SPEECH_MODEL: 'phone_call',
      TANDEM_GOOGLE_TTS_VOICES: 'es-US=es-US-Neural2-A, en=en-US-Standard-C',
    });
    expect(t?.provider).toMatchObject({
      kind: 'cascade',
      recognizer: { kind: 'google', endpoint: '127.0.0.1:7001', tls: false, apiKey: 'g-key', model: 'phone_call', streamLimitMs: 280_000 },
      translator: { kind: 'google', endpoint: 'translate.googleapis.com:443', tls: false, apiKey: 'g-key', projectId: 'tandem-prod', location: 'global' },
      synthesizer: { kind: 'google', endpoint: 'texttospeech.googleapis.com:443', apiKey: 'g-key', voices: { 'es-US': 'es-US-Neural2-A', en: 'en-US-Standard-C' } },
    });
  });

  it('without a key the Google parts use Application Default Credentials (no apiKey, TLS on)', () => {
    const t = translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', TANDEM_CASCADE_RECOGNIZER: 'google' });
    expect(t?.provider).toMatchObject({ recognizer: { kind: 'google', tls: true, endpoint: 'speech.googleapis.com:443' } });
    if (t?.provider.kind !== 'cascade') throw new Error('not a cascade');
    expect('apiKey' in t.provider.recognizer).toBe(false);
  });

  it('names the missing project and the bad variable, never the key', () => {
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY: 'dg', TANDEM_CASCADE_TRANSLATOR: 'google' })).toThrow(/TANDEM_GOOGLE_PROJECT is required/);
    expect(() => translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', DEEPGRAM_API_KEY: 'dg', TANDEM_CASCADE_SYNTHESIZER: 'google', TANDEM_GOOGLE_TTS_VOICES: 'es=' })).toThrow(/TANDEM_GOOGLE_TTS_VOICES/);
    let message = '';
    try {
      translationFromEnv({ TANDEM_TRANSLATE_PROVIDER: 'cascade', TANDEM_CASCADE_RECOGNIZER: 'google', GOOGLE_API_KEY: 'super-secret-google', TANDEM_GOOGLE_SPEECH_ENDPOINT: 'https://speech.googleapis.com' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/TANDEM_GOOGLE_SPEECH_ENDPOINT/);
    expect(message).not.toContain('super-secret-google');
  });
});
