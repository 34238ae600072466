import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EnvVarError, asEnvVarError, envIssueError } from '../../../common/src/env-error.js';
import { ConfigError } from '../../../common/src/errors.js';
import { parsePairTranslation, type PairTranslation } from '../../../engine/src/index.js';
import { GOOGLE_ENV_SHAPE, GOOGLE_KEY_VARIABLES, googleRecognizerFromEnv, googleSynthesizerFromEnv, googleTranslatorFromEnv, googleVariableOfKey } from './google-env.js';

/**
 * Where a node's translation settings come from: the environment gives the
 * default for every pair; the dialplan may set each call's languages as
 * Stasis arguments (`Stasis(pair_session,${CALLERID(num)},lang_a=es,lang_b=en)`),
 * e.g. chosen by the number dialled.
 */
const envSchema = z.object({
  TANDEM_TRANSLATE_PROVIDER: z.enum(['tandem', 'openai-realtime', 'cascade']).optional(),
  TANDEM_TRANSLATE_URL: z.string().min(1).optional(),
  /** Bearer token of a Tandem-protocol service. */
  TANDEM_TRANSLATE_TOKEN: z.string().min(1).optional(),
  /** API key of an OpenAI-Realtime-compatible service. */
  OPENAI_API_KEY: z.string().min(1).optional(),
  TANDEM_TRANSLATE_MODEL: z.string().min(1).optional(),
  TANDEM_LANG_A: z.string().min(2).default('en'),
  TANDEM_LANG_B: z.string().min(2).default('es'),
  TANDEM_TRANSLATE_MODE: z.enum(['translated-only', 'duck']).default('translated-only'),
  // ---- cascade (docs/cascade.md): Deepgram recognizes; Apertium or DeepL translates; espeak-ng or ElevenLabs speaks ----
  TANDEM_CASCADE_RECOGNIZER: z.enum(['deepgram', 'azure', 'google']).default('deepgram'),
  TANDEM_CASCADE_TRANSLATOR: z.enum(['apertium', 'deepl', 'azure', 'google']).default('apertium'),
  TANDEM_CASCADE_SYNTHESIZER: z.enum(['espeak-ng', 'elevenlabs', 'azure', 'google']).default('espeak-ng'),
  DEEPGRAM_API_KEY: z.string().min(1).optional(),
  /** A file holding the key (e.g. a mounted secret), read when DEEPGRAM_API_KEY is unset. */
  DEEPGRAM_API_KEY_FILE: z.string().min(1).optional(),
  TANDEM_DEEPGRAM_URL: z.string().min(1).optional(),
  TANDEM_DEEPGRAM_MODEL: z.string().min(1).optional(),
  DEEPL_AUTH_KEY: z.string().min(1).optional(),
  DEEPL_AUTH_KEY_FILE: z.string().min(1).optional(),
  TANDEM_DEEPL_URL: z.string().min(1).optional(),
  TANDEM_DEEPL_FORMALITY: z.enum(['default', 'more', 'less', 'prefer_more', 'prefer_less']).optional(),
  TANDEM_DEEPL_GLOSSARY_ID: z.string().min(1).optional(),
  ELEVENLABS_API_KEY: z.string().min(1).optional(),
  ELEVENLABS_API_KEY_FILE: z.string().min(1).optional(),
  TANDEM_ELEVENLABS_URL: z.string().min(1).optional(),
  TANDEM_ELEVENLABS_VOICE_ID: z.string().min(1).optional(),
  TANDEM_ELEVENLABS_MODEL: z.string().min(1).optional(),
  TANDEM_APERTIUM_MODES_DIR: z.string().min(1).optional(),
  /** The Azure Speech resource (recognizer and synthesizer): its key (or a file holding it) and region. */
  AZURE_SPEECH_KEY: z.string().min(1).optional(),
  AZURE_SPEECH_KEY_FILE: z.string().min(1).optional(),
  TANDEM_AZURE_SPEECH_REGION: z.string().min(1).optional(),
  TANDEM_AZURE_STT_URL: z.string().min(1).optional(),
  TANDEM_AZURE_TTS_URL: z.string().min(1).optional(),
  /** Voices per language: `es-MX=es-MX-JorgeNeural,en=en-US-GuyNeural`. */
  TANDEM_AZURE_TTS_VOICES: z.string().min(1).optional(),
  AZURE_TRANSLATOR_KEY: z.string().min(1).optional(),
  AZURE_TRANSLATOR_KEY_FILE: z.string().min(1).optional(),
  TANDEM_AZURE_TRANSLATOR_REGION: z.string().min(1).optional(),
  TANDEM_AZURE_TRANSLATOR_URL: z.string().min(1).optional(),
  ...GOOGLE_ENV_SHAPE,
  /** What the listener's leg carries between answers: silence (a continuous stream), or nothing (each answer starts at once). */
  TANDEM_TRANSLATE_BETWEEN: z.enum(['silence', 'nothing']).default('silence'),
});

/** Every variable translationFromEnv reads. */
export const TRANSLATION_ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** The default translation of every pair, or undefined when TANDEM_TRANSLATE_PROVIDER is unset. */
export function translationFromEnv(env: NodeJS.ProcessEnv): PairTranslation | undefined {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && v !== '' && (k.startsWith('TANDEM_') || KEY_VARIABLES.has(k))));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) throw envIssueError(parsed.error.issues, present);
  const e = parsed.data;
  if (e.TANDEM_TRANSLATE_PROVIDER === undefined) return undefined;
  if (e.TANDEM_TRANSLATE_PROVIDER === 'cascade') return withEnvNames(present, () => parsePairTranslation({ ...common(e), provider: cascadeFromEnv(e) }), cascadeVariableNames(e));
  if (e.TANDEM_TRANSLATE_URL === undefined) throw EnvVarError.missing('TANDEM_TRANSLATE_URL', 'the ws:// or wss:// URL of the translation service, needed when TANDEM_TRANSLATE_PROVIDER is set');
  const provider =
    e.TANDEM_TRANSLATE_PROVIDER === 'tandem'
      ? { kind: 'tandem' as const, url: e.TANDEM_TRANSLATE_URL, ...(e.TANDEM_TRANSLATE_TOKEN ? { token: e.TANDEM_TRANSLATE_TOKEN } : {}) }
      : {
          kind: 'openai-realtime' as const,
          url: e.TANDEM_TRANSLATE_URL,
          apiKey: e.OPENAI_API_KEY ?? missing('OPENAI_API_KEY', 'the API key of the OpenAI-Realtime-compatible service, needed for TANDEM_TRANSLATE_PROVIDER=openai-realtime'),
          ...(e.TANDEM_TRANSLATE_MODEL ? { model: e.TANDEM_TRANSLATE_MODEL } : {}),
        };
  return withEnvNames(present, () => parsePairTranslation({ ...common(e), provider }));
}

type Env = z.output<typeof envSchema>;

const KEY_VARIABLES = new Set([
  'OPENAI_API_KEY',
  'DEEPGRAM_API_KEY',
  'DEEPGRAM_API_KEY_FILE',
  'DEEPL_AUTH_KEY',
  'DEEPL_AUTH_KEY_FILE',
  'ELEVENLABS_API_KEY',
  'ELEVENLABS_API_KEY_FILE',
  'AZURE_SPEECH_KEY',
  'AZURE_SPEECH_KEY_FILE',
  'AZURE_TRANSLATOR_KEY',
  'AZURE_TRANSLATOR_KEY_FILE',
  ...GOOGLE_KEY_VARIABLES,
]);

function common(e: Env): { languages: { A: string; B: string }; mode: Env['TANDEM_TRANSLATE_MODE']; between: Env['TANDEM_TRANSLATE_BETWEEN'] } {
  return { languages: { A: e.TANDEM_LANG_A, B: e.TANDEM_LANG_B }, mode: e.TANDEM_TRANSLATE_MODE, between: e.TANDEM_TRANSLATE_BETWEEN };
}

/** Runs parsePairTranslation, naming the variable the person set rather than the settings key it became. */
function withEnvNames<T>(present: Record<string, string | undefined>, parse: () => T, names: Readonly<Record<string, string>> = VARIABLE_OF_KEY): T {
  try {
    return parse();
  } catch (err) {
    const variable = err instanceof ConfigError ? variableOf(err.key, names) : undefined;
    // Never echo a secret back in the error.
    if (err instanceof ConfigError && variable !== undefined) throw asEnvVarError(err, variable, KEY_VARIABLES.has(variable) ? '[redacted]' : (present[variable] ?? ''));
    throw err;
  }
}

/** The variable a settings key came from: its own entry, else its nearest parent's (`provider.synthesizer.voices.es` → `…voices`). */
function variableOf(key: string, names: Readonly<Record<string, string>>): string | undefined {
  for (let k = key; k !== ''; k = k.includes('.') ? k.slice(0, k.lastIndexOf('.')) : '') if (names[k] !== undefined) return names[k];
  return undefined;
}

/** A secret from its variable, or from the file its `_FILE` variable names (trimmed); never logged. */
function secret(value: string | undefined, file: string | undefined, variable: string, meaning: string): string {
  if (value !== undefined) return value;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw EnvVarError.invalid(`${variable}_FILE`, file, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (text === '') throw EnvVarError.invalid(`${variable}_FILE`, file, 'the file is empty');
    return text;
  }
  return missing(variable, meaning);
}

function cascadeFromEnv(e: Env): object {
  const translator =
    e.TANDEM_CASCADE_TRANSLATOR === 'google'
      ? googleTranslatorFromEnv(e, secret)
      : e.TANDEM_CASCADE_TRANSLATOR === 'apertium'
      ? { kind: 'apertium', ...(e.TANDEM_APERTIUM_MODES_DIR ? { modesDir: e.TANDEM_APERTIUM_MODES_DIR } : {}) }
      : e.TANDEM_CASCADE_TRANSLATOR === 'azure'
        ? azureTranslatorFromEnv(e)
        : {
          kind: 'deepl',
          authKey: secret(e.DEEPL_AUTH_KEY, e.DEEPL_AUTH_KEY_FILE, 'DEEPL_AUTH_KEY', 'the DeepL API key, needed for TANDEM_CASCADE_TRANSLATOR=deepl'),
          ...(e.TANDEM_DEEPL_URL ? { serverUrl: e.TANDEM_DEEPL_URL } : {}),
          ...(e.TANDEM_DEEPL_FORMALITY ? { formality: e.TANDEM_DEEPL_FORMALITY } : {}),
          ...(e.TANDEM_DEEPL_GLOSSARY_ID ? { glossaryId: e.TANDEM_DEEPL_GLOSSARY_ID } : {}),
        };
  const synthesizer =
    e.TANDEM_CASCADE_SYNTHESIZER === 'google'
      ? googleSynthesizerFromEnv(e, secret)
      : e.TANDEM_CASCADE_SYNTHESIZER === 'espeak-ng'
      ? { kind: 'espeak-ng' }
      : e.TANDEM_CASCADE_SYNTHESIZER === 'azure'
        ? azureSynthesizerFromEnv(e)
        : {
          kind: 'elevenlabs',
          apiKey: secret(e.ELEVENLABS_API_KEY, e.ELEVENLABS_API_KEY_FILE, 'ELEVENLABS_API_KEY', 'the ElevenLabs API key, needed for TANDEM_CASCADE_SYNTHESIZER=elevenlabs'),
          voiceId: e.TANDEM_ELEVENLABS_VOICE_ID ?? missing('TANDEM_ELEVENLABS_VOICE_ID', 'the ElevenLabs voice to speak with'),
          ...(e.TANDEM_ELEVENLABS_URL ? { url: e.TANDEM_ELEVENLABS_URL } : {}),
          ...(e.TANDEM_ELEVENLABS_MODEL ? { modelId: e.TANDEM_ELEVENLABS_MODEL } : {}),
        };
  return {
    kind: 'cascade',
    recognizer:
      e.TANDEM_CASCADE_RECOGNIZER === 'azure'
        ? azureRecognizerFromEnv(e)
        : e.TANDEM_CASCADE_RECOGNIZER === 'google'
          ? googleRecognizerFromEnv(e, secret)
          : {
            kind: 'deepgram',
            apiKey: secret(e.DEEPGRAM_API_KEY, e.DEEPGRAM_API_KEY_FILE, 'DEEPGRAM_API_KEY', 'the Deepgram API key, needed for TANDEM_CASCADE_RECOGNIZER=deepgram'),
            ...(e.TANDEM_DEEPGRAM_URL ? { url: e.TANDEM_DEEPGRAM_URL } : {}),
            ...(e.TANDEM_DEEPGRAM_MODEL ? { model: e.TANDEM_DEEPGRAM_MODEL } : {}),
          },
    translator,
    synthesizer,
  };
}

// ---- Azure (docs/providers.md): one Speech resource for recognition and synthesis, a Translator resource ----

function azureSpeechKey(e: Env, part: string): string {
  return secret(e.AZURE_SPEECH_KEY, e.AZURE_SPEECH_KEY_FILE, 'AZURE_SPEECH_KEY', `the Azure Speech resource key, needed for ${part}=azure`);
}

function azureSpeechRegion(e: Env, part: string): string {
  return e.TANDEM_AZURE_SPEECH_REGION ?? missing('TANDEM_AZURE_SPEECH_REGION', `the Azure Speech resource's region (e.g. westeurope), needed for ${part}=azure`);
}

function azureRecognizerFromEnv(e: Env): object {
  const part = 'TANDEM_CASCADE_RECOGNIZER';
  return { kind: 'azure', key: azureSpeechKey(e, part), region: azureSpeechRegion(e, part), ...(e.TANDEM_AZURE_STT_URL ? { url: e.TANDEM_AZURE_STT_URL } : {}) };
}

function azureTranslatorFromEnv(e: Env): object {
  return {
    kind: 'azure',
    key: secret(e.AZURE_TRANSLATOR_KEY, e.AZURE_TRANSLATOR_KEY_FILE, 'AZURE_TRANSLATOR_KEY', 'the Azure Translator resource key, needed for TANDEM_CASCADE_TRANSLATOR=azure'),
    ...(e.TANDEM_AZURE_TRANSLATOR_REGION ? { region: e.TANDEM_AZURE_TRANSLATOR_REGION } : {}),
    ...(e.TANDEM_AZURE_TRANSLATOR_URL ? { url: e.TANDEM_AZURE_TRANSLATOR_URL } : {}),
  };
}

function azureSynthesizerFromEnv(e: Env): object {
  const part = 'TANDEM_CASCADE_SYNTHESIZER';
  const voices: Record<string, string> = {};
  for (const item of (e.TANDEM_AZURE_TTS_VOICES ?? '').split(',')) {
    if (item.trim() === '') continue;
    const [language, voice, extra] = item.split('=').map((x) => x.trim());
    if (!language || !voice || extra !== undefined) throw EnvVarError.invalid('TANDEM_AZURE_TTS_VOICES', e.TANDEM_AZURE_TTS_VOICES ?? '', 'must be language=voice pairs separated by commas, e.g. es-MX=es-MX-JorgeNeural');
    voices[language] = voice;
  }
  return { kind: 'azure', key: azureSpeechKey(e, part), region: azureSpeechRegion(e, part), voices, ...(e.TANDEM_AZURE_TTS_URL ? { url: e.TANDEM_AZURE_TTS_URL } : {}) };
}

/** VARIABLE_OF_KEY with the keys of the cascade parts chosen named after their own variables. */
function cascadeVariableNames(e: Env): Readonly<Record<string, string>> {
  const names: Record<string, string> = {
    ...VARIABLE_OF_KEY,
    ...googleVariableOfKey({ recognizer: e.TANDEM_CASCADE_RECOGNIZER === 'google', translator: e.TANDEM_CASCADE_TRANSLATOR === 'google', synthesizer: e.TANDEM_CASCADE_SYNTHESIZER === 'google' }),
  };
  if (e.TANDEM_CASCADE_RECOGNIZER === 'azure') Object.assign(names, { 'provider.recognizer.url': 'TANDEM_AZURE_STT_URL', 'provider.recognizer.key': 'AZURE_SPEECH_KEY', 'provider.recognizer.region': 'TANDEM_AZURE_SPEECH_REGION' });
  if (e.TANDEM_CASCADE_TRANSLATOR === 'azure') Object.assign(names, { 'provider.translator.url': 'TANDEM_AZURE_TRANSLATOR_URL', 'provider.translator.key': 'AZURE_TRANSLATOR_KEY', 'provider.translator.region': 'TANDEM_AZURE_TRANSLATOR_REGION' });
  if (e.TANDEM_CASCADE_SYNTHESIZER === 'azure') {
    Object.assign(names, {
      'provider.synthesizer.url': 'TANDEM_AZURE_TTS_URL',
      'provider.synthesizer.key': 'AZURE_SPEECH_KEY',
      'provider.synthesizer.region': 'TANDEM_AZURE_SPEECH_REGION',
      'provider.synthesizer.voices': 'TANDEM_AZURE_TTS_VOICES',
    });
  }
  return names;
}

/** The settings keys parsePairTranslation reports, and the variables they come from. */
const VARIABLE_OF_KEY: Readonly<Record<string, string>> = {
  'provider.url': 'TANDEM_TRANSLATE_URL',
  'provider.token': 'TANDEM_TRANSLATE_TOKEN',
  'provider.apiKey': 'OPENAI_API_KEY',
  'provider.model': 'TANDEM_TRANSLATE_MODEL',
  'languages.A': 'TANDEM_LANG_A',
  'languages.B': 'TANDEM_LANG_B',
  mode: 'TANDEM_TRANSLATE_MODE',
  between: 'TANDEM_TRANSLATE_BETWEEN',
  'provider.recognizer.url': 'TANDEM_DEEPGRAM_URL',
  'provider.recognizer.apiKey': 'DEEPGRAM_API_KEY',
  'provider.recognizer.model': 'TANDEM_DEEPGRAM_MODEL',
  'provider.translator.serverUrl': 'TANDEM_DEEPL_URL',
  'provider.translator.authKey': 'DEEPL_AUTH_KEY',
  'provider.translator.modesDir': 'TANDEM_APERTIUM_MODES_DIR',
  'provider.synthesizer.url': 'TANDEM_ELEVENLABS_URL',
  'provider.synthesizer.apiKey': 'ELEVENLABS_API_KEY',
  'provider.synthesizer.voiceId': 'TANDEM_ELEVENLABS_VOICE_ID',
  'provider.synthesizer.modelId': 'TANDEM_ELEVENLABS_MODEL',
};

function missing(variable: string, meaning: string): never {
  throw EnvVarError.missing(variable, meaning);
}

const LANGUAGE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

export interface LanguageOverride {
  A?: string;
  B?: string;
}

/**
 * Reads `lang_a=xx` / `lang_b=yy` from the caller's Stasis arguments (after
 * the caller number). Anything else, or a malformed tag, is returned in
 * `ignored` for the log: a dialplan typo must not cost the caller the call.
 */
export function languagesFromStasisArgs(args: readonly string[]): { override: LanguageOverride; ignored: string[] } {
  const override: LanguageOverride = {};
  const ignored: string[] = [];
  for (const arg of args) {
    const match = /^lang_(a|b)=(.+)$/i.exec(arg.trim());
    if (match === null || !LANGUAGE.test(match[2]!)) {
      ignored.push(arg.slice(0, 64));
      continue;
    }
    if (match[1]!.toLowerCase() === 'a') override.A = match[2]!;
    else override.B = match[2]!;
  }
  return { override, ignored };
}

/** The pair's translation: the default with the call's languages applied (no default → none). */
export function pairTranslationFor(defaults: PairTranslation | undefined, override: LanguageOverride): PairTranslation | undefined {
  if (defaults === undefined) return undefined;
  if (override.A === undefined && override.B === undefined) return defaults;
  return { ...defaults, languages: { A: override.A ?? defaults.languages.A, B: override.B ?? defaults.languages.B } };
}
