import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EnvVarError } from '../../../common/src/env-error.js';
import { AZURE_ENV_SHAPE, AZURE_KEY_VARIABLES, AZURE_PART_VARIABLES, azureRecognizerFromEnv, azureSynthesizerFromEnv, azureTranslatorFromEnv } from './azure-env.js';
import { GOOGLE_ENV_SHAPE, GOOGLE_KEY_VARIABLES, GOOGLE_PART_VARIABLES, googleRecognizerFromEnv, googleSynthesizerFromEnv, googleTranslatorFromEnv } from './google-env.js';

/**
 * The cascade's environment (docs/cascade.md): the node-wide recognizer,
 * translator and synthesizer, another part for one direction
 * (`TANDEM_CASCADE_A_TO_B_TRANSLATOR`), the offline fallback, early
 * translation, and each provider's keys and URLs (one set, read by every part
 * of that provider whichever setting chose it).
 */
const RecognizerKind = z.enum(['deepgram', 'azure', 'google']);
const TranslatorKind = z.enum(['apertium', 'deepl', 'azure', 'google']);
const SynthesizerKind = z.enum(['espeak-ng', 'elevenlabs', 'azure', 'google']);
const Flag = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');

export const CASCADE_ENV_SHAPE = {
  TANDEM_CASCADE_RECOGNIZER: RecognizerKind.default('deepgram'),
  TANDEM_CASCADE_TRANSLATOR: TranslatorKind.default('apertium'),
  TANDEM_CASCADE_SYNTHESIZER: SynthesizerKind.default('espeak-ng'),
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
  /** ElevenLabs: keep the next utterance's socket open ahead of time (default true), and its inactivity_timeout in seconds. */
  TANDEM_ELEVENLABS_WARM: Flag.optional(),
  TANDEM_ELEVENLABS_INACTIVITY_TIMEOUT_S: z.coerce.number().int().min(1).max(180).optional(),
  ...AZURE_ENV_SHAPE,
  ...GOOGLE_ENV_SHAPE,
  // ---- per direction: another provider for one part of one direction ----
  TANDEM_CASCADE_A_TO_B_RECOGNIZER: RecognizerKind.optional(),
  TANDEM_CASCADE_A_TO_B_TRANSLATOR: TranslatorKind.optional(),
  TANDEM_CASCADE_A_TO_B_SYNTHESIZER: SynthesizerKind.optional(),
  TANDEM_CASCADE_B_TO_A_RECOGNIZER: RecognizerKind.optional(),
  TANDEM_CASCADE_B_TO_A_TRANSLATOR: TranslatorKind.optional(),
  TANDEM_CASCADE_B_TO_A_SYNTHESIZER: SynthesizerKind.optional(),
  /** The ElevenLabs voice of one direction (its listener's language), instead of TANDEM_ELEVENLABS_VOICE_ID. */
  TANDEM_ELEVENLABS_VOICE_ID_A_TO_B: z.string().min(1).optional(),
  TANDEM_ELEVENLABS_VOICE_ID_B_TO_A: z.string().min(1).optional(),
  // ---- offline fallback while a cloud part is down, and early translation of stable partials ----
  TANDEM_CASCADE_FALLBACK_TRANSLATOR: TranslatorKind.optional(),
  TANDEM_CASCADE_FALLBACK_SYNTHESIZER: SynthesizerKind.optional(),
  TANDEM_CASCADE_FALLBACK_AFTER_FAILURES: z.coerce.number().int().optional(),
  TANDEM_CASCADE_FALLBACK_STALL_MS: z.coerce.number().int().optional(),
  TANDEM_CASCADE_FALLBACK_PROBE_MS: z.coerce.number().int().optional(),
  TANDEM_CASCADE_EARLY_TRANSLATION: Flag.optional(),
  TANDEM_CASCADE_EARLY_MIN_WORDS: z.coerce.number().int().optional(),
  TANDEM_CASCADE_EARLY_STABLE_PARTIALS: z.coerce.number().int().optional(),
};

/** The cascade's variables that hold secrets (or name files holding them): never echoed in an error. */
export const CASCADE_KEY_VARIABLES: readonly string[] = [
  'DEEPGRAM_API_KEY',
  'DEEPGRAM_API_KEY_FILE',
  'DEEPL_AUTH_KEY',
  'DEEPL_AUTH_KEY_FILE',
  'ELEVENLABS_API_KEY',
  'ELEVENLABS_API_KEY_FILE',
  ...AZURE_KEY_VARIABLES,
  ...GOOGLE_KEY_VARIABLES,
];

type CascadeEnv = z.output<z.ZodObject<typeof CASCADE_ENV_SHAPE>>;
type Direction = 'A_TO_B' | 'B_TO_A';
type Kinds = { recognizer?: z.output<typeof RecognizerKind> | undefined; translator?: z.output<typeof TranslatorKind> | undefined; synthesizer?: z.output<typeof SynthesizerKind> | undefined };

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
  throw EnvVarError.missing(variable, meaning);
}

/** `chosenBy` says which setting asked for the provider (`VARIABLE=value`), for the message when its key is missing. */
function recognizerFromEnv(e: CascadeEnv, kind: NonNullable<Kinds['recognizer']>, chosenBy: string): object {
  switch (kind) {
    case 'deepgram':
      return {
        kind: 'deepgram',
        apiKey: secret(e.DEEPGRAM_API_KEY, e.DEEPGRAM_API_KEY_FILE, 'DEEPGRAM_API_KEY', `the Deepgram API key, needed for ${chosenBy}`),
        ...(e.TANDEM_DEEPGRAM_URL ? { url: e.TANDEM_DEEPGRAM_URL } : {}),
        ...(e.TANDEM_DEEPGRAM_MODEL ? { model: e.TANDEM_DEEPGRAM_MODEL } : {}),
      };
    case 'azure':
      return azureRecognizerFromEnv(e, secret, chosenBy);
    case 'google':
      return googleRecognizerFromEnv(e, secret);
  }
}

function translatorFromEnv(e: CascadeEnv, kind: NonNullable<Kinds['translator']>, chosenBy: string): object {
  switch (kind) {
    case 'apertium':
      return { kind: 'apertium', ...(e.TANDEM_APERTIUM_MODES_DIR ? { modesDir: e.TANDEM_APERTIUM_MODES_DIR } : {}) };
    case 'deepl':
      return {
        kind: 'deepl',
        authKey: secret(e.DEEPL_AUTH_KEY, e.DEEPL_AUTH_KEY_FILE, 'DEEPL_AUTH_KEY', `the DeepL API key, needed for ${chosenBy}`),
        ...(e.TANDEM_DEEPL_URL ? { serverUrl: e.TANDEM_DEEPL_URL } : {}),
        ...(e.TANDEM_DEEPL_FORMALITY ? { formality: e.TANDEM_DEEPL_FORMALITY } : {}),
        ...(e.TANDEM_DEEPL_GLOSSARY_ID ? { glossaryId: e.TANDEM_DEEPL_GLOSSARY_ID } : {}),
      };
    case 'azure':
      return azureTranslatorFromEnv(e, secret, chosenBy);
    case 'google':
      return googleTranslatorFromEnv(e, secret, chosenBy);
  }
}

function synthesizerFromEnv(e: CascadeEnv, kind: NonNullable<Kinds['synthesizer']>, chosenBy: string, voiceId?: string): object {
  switch (kind) {
    case 'espeak-ng':
      return { kind: 'espeak-ng' };
    case 'elevenlabs':
      return {
        kind: 'elevenlabs',
        apiKey: secret(e.ELEVENLABS_API_KEY, e.ELEVENLABS_API_KEY_FILE, 'ELEVENLABS_API_KEY', `the ElevenLabs API key, needed for ${chosenBy}`),
        voiceId: voiceId ?? e.TANDEM_ELEVENLABS_VOICE_ID ?? missing('TANDEM_ELEVENLABS_VOICE_ID', 'the ElevenLabs voice to speak with'),
        ...(e.TANDEM_ELEVENLABS_URL ? { url: e.TANDEM_ELEVENLABS_URL } : {}),
        ...(e.TANDEM_ELEVENLABS_MODEL ? { modelId: e.TANDEM_ELEVENLABS_MODEL } : {}),
        ...(e.TANDEM_ELEVENLABS_WARM !== undefined ? { warm: e.TANDEM_ELEVENLABS_WARM } : {}),
        ...(e.TANDEM_ELEVENLABS_INACTIVITY_TIMEOUT_S !== undefined ? { inactivityTimeoutS: e.TANDEM_ELEVENLABS_INACTIVITY_TIMEOUT_S } : {}),
      };
    case 'azure':
      return azureSynthesizerFromEnv(e, secret, chosenBy);
    case 'google':
      return googleSynthesizerFromEnv(e, secret);
  }
}

/** The part kinds a direction's own variables choose; its own ElevenLabs voice alone makes it speak with the node's synthesizer and that voice. */
function directionKinds(e: CascadeEnv, d: Direction): Kinds {
  const voice = e[`TANDEM_ELEVENLABS_VOICE_ID_${d}`];
  return {
    recognizer: e[`TANDEM_CASCADE_${d}_RECOGNIZER`],
    translator: e[`TANDEM_CASCADE_${d}_TRANSLATOR`],
    synthesizer: e[`TANDEM_CASCADE_${d}_SYNTHESIZER`] ?? (voice !== undefined ? e.TANDEM_CASCADE_SYNTHESIZER : undefined),
  };
}

/** One direction's overrides: the parts its own variables choose (and its own ElevenLabs voice). */
function directionFromEnv(e: CascadeEnv, d: Direction): object | undefined {
  const { recognizer: r, translator: t, synthesizer: s } = directionKinds(e, d);
  const voice = e[`TANDEM_ELEVENLABS_VOICE_ID_${d}`];
  if (voice !== undefined && s !== 'elevenlabs') throw EnvVarError.invalid(`TANDEM_ELEVENLABS_VOICE_ID_${d}`, voice, `only an elevenlabs synthesizer speaks with it, and this direction's is ${s ?? 'none'}`);
  const out = {
    ...(r !== undefined ? { recognizer: recognizerFromEnv(e, r, `TANDEM_CASCADE_${d}_RECOGNIZER=${r}`) } : {}),
    ...(t !== undefined ? { translator: translatorFromEnv(e, t, `TANDEM_CASCADE_${d}_TRANSLATOR=${t}`) } : {}),
    ...(s !== undefined ? { synthesizer: synthesizerFromEnv(e, s, `TANDEM_CASCADE_${d}_SYNTHESIZER=${s}`, voice) } : {}),
  };
  return Object.keys(out).length === 0 ? undefined : out;
}

/** The `provider` settings of TANDEM_TRANSLATE_PROVIDER=cascade, for parsePairTranslation to check. */
export function cascadeFromEnv(e: CascadeEnv): object {
  const byDirection = { 'A->B': directionFromEnv(e, 'A_TO_B'), 'B->A': directionFromEnv(e, 'B_TO_A') };
  const fbT = e.TANDEM_CASCADE_FALLBACK_TRANSLATOR;
  const fbS = e.TANDEM_CASCADE_FALLBACK_SYNTHESIZER;
  const fallback = {
    ...(fbT ? { translator: translatorFromEnv(e, fbT, `TANDEM_CASCADE_FALLBACK_TRANSLATOR=${fbT}`) } : {}),
    ...(fbS ? { synthesizer: synthesizerFromEnv(e, fbS, `TANDEM_CASCADE_FALLBACK_SYNTHESIZER=${fbS}`) } : {}),
    ...(e.TANDEM_CASCADE_FALLBACK_AFTER_FAILURES !== undefined ? { afterFailures: e.TANDEM_CASCADE_FALLBACK_AFTER_FAILURES } : {}),
    ...(e.TANDEM_CASCADE_FALLBACK_STALL_MS !== undefined ? { stallMs: e.TANDEM_CASCADE_FALLBACK_STALL_MS } : {}),
    ...(e.TANDEM_CASCADE_FALLBACK_PROBE_MS !== undefined ? { probeInitialMs: e.TANDEM_CASCADE_FALLBACK_PROBE_MS } : {}),
  };
  const early = {
    ...(e.TANDEM_CASCADE_EARLY_TRANSLATION !== undefined ? { enabled: e.TANDEM_CASCADE_EARLY_TRANSLATION } : {}),
    ...(e.TANDEM_CASCADE_EARLY_MIN_WORDS !== undefined ? { minWords: e.TANDEM_CASCADE_EARLY_MIN_WORDS } : {}),
    ...(e.TANDEM_CASCADE_EARLY_STABLE_PARTIALS !== undefined ? { stablePartials: e.TANDEM_CASCADE_EARLY_STABLE_PARTIALS } : {}),
  };
  return {
    kind: 'cascade',
    recognizer: recognizerFromEnv(e, e.TANDEM_CASCADE_RECOGNIZER, `TANDEM_CASCADE_RECOGNIZER=${e.TANDEM_CASCADE_RECOGNIZER}`),
    translator: translatorFromEnv(e, e.TANDEM_CASCADE_TRANSLATOR, `TANDEM_CASCADE_TRANSLATOR=${e.TANDEM_CASCADE_TRANSLATOR}`),
    synthesizer: synthesizerFromEnv(e, e.TANDEM_CASCADE_SYNTHESIZER, `TANDEM_CASCADE_SYNTHESIZER=${e.TANDEM_CASCADE_SYNTHESIZER}`),
    byDirection: Object.fromEntries(Object.entries(byDirection).filter(([, v]) => v !== undefined)),
    ...(Object.keys(fallback).length > 0 ? { fallback } : {}),
    ...(Object.keys(early).length > 0 ? { earlyTranslation: early } : {}),
  };
}

/** Per part and kind, the settings fields of the part and the variables they come from. */
const PART_VARIABLES: { [P in keyof Kinds]-?: Record<NonNullable<Kinds[P]>, Readonly<Record<string, string>>> } = {
  recognizer: {
    deepgram: { url: 'TANDEM_DEEPGRAM_URL', apiKey: 'DEEPGRAM_API_KEY', model: 'TANDEM_DEEPGRAM_MODEL' },
    azure: AZURE_PART_VARIABLES.recognizer,
    google: GOOGLE_PART_VARIABLES.recognizer,
  },
  translator: {
    apertium: { modesDir: 'TANDEM_APERTIUM_MODES_DIR' },
    deepl: { serverUrl: 'TANDEM_DEEPL_URL', authKey: 'DEEPL_AUTH_KEY', formality: 'TANDEM_DEEPL_FORMALITY', glossaryId: 'TANDEM_DEEPL_GLOSSARY_ID' },
    azure: AZURE_PART_VARIABLES.translator,
    google: GOOGLE_PART_VARIABLES.translator,
  },
  synthesizer: {
    'espeak-ng': {},
    elevenlabs: { url: 'TANDEM_ELEVENLABS_URL', apiKey: 'ELEVENLABS_API_KEY', voiceId: 'TANDEM_ELEVENLABS_VOICE_ID', modelId: 'TANDEM_ELEVENLABS_MODEL', inactivityTimeoutS: 'TANDEM_ELEVENLABS_INACTIVITY_TIMEOUT_S' },
    azure: AZURE_PART_VARIABLES.synthesizer,
    google: GOOGLE_PART_VARIABLES.synthesizer,
  },
};

/**
 * The settings keys parsePairTranslation may report about the cascade, and
 * the variables they come from: each part's fields named after the variables
 * of the kind chosen for it, node-wide, per direction and for the fallback
 * (`provider.byDirection.B->A.translator.url` → `TANDEM_AZURE_TRANSLATOR_URL`).
 */
export function cascadeVariableNames(e: CascadeEnv): Record<string, string> {
  const names: Record<string, string> = {
    'provider.fallback.afterFailures': 'TANDEM_CASCADE_FALLBACK_AFTER_FAILURES',
    'provider.fallback.stallMs': 'TANDEM_CASCADE_FALLBACK_STALL_MS',
    'provider.fallback.probeInitialMs': 'TANDEM_CASCADE_FALLBACK_PROBE_MS',
    'provider.earlyTranslation.minWords': 'TANDEM_CASCADE_EARLY_MIN_WORDS',
    'provider.earlyTranslation.stablePartials': 'TANDEM_CASCADE_EARLY_STABLE_PARTIALS',
  };
  const slots: Array<[string, Kinds]> = [
    ['provider', { recognizer: e.TANDEM_CASCADE_RECOGNIZER, translator: e.TANDEM_CASCADE_TRANSLATOR, synthesizer: e.TANDEM_CASCADE_SYNTHESIZER }],
    ['provider.byDirection.A->B', directionKinds(e, 'A_TO_B')],
    ['provider.byDirection.B->A', directionKinds(e, 'B_TO_A')],
    ['provider.fallback', { translator: e.TANDEM_CASCADE_FALLBACK_TRANSLATOR, synthesizer: e.TANDEM_CASCADE_FALLBACK_SYNTHESIZER }],
  ];
  for (const [prefix, kinds] of slots) {
    const chosen: Array<[string, Readonly<Record<string, string>> | undefined]> = [
      ['recognizer', kinds.recognizer && PART_VARIABLES.recognizer[kinds.recognizer]],
      ['translator', kinds.translator && PART_VARIABLES.translator[kinds.translator]],
      ['synthesizer', kinds.synthesizer && PART_VARIABLES.synthesizer[kinds.synthesizer]],
    ];
    for (const [part, fields] of chosen) for (const [field, variable] of Object.entries(fields ?? {})) names[`${prefix}.${part}.${field}`] = variable;
  }
  if (e.TANDEM_ELEVENLABS_VOICE_ID_A_TO_B !== undefined) names['provider.byDirection.A->B.synthesizer.voiceId'] = 'TANDEM_ELEVENLABS_VOICE_ID_A_TO_B';
  if (e.TANDEM_ELEVENLABS_VOICE_ID_B_TO_A !== undefined) names['provider.byDirection.B->A.synthesizer.voiceId'] = 'TANDEM_ELEVENLABS_VOICE_ID_B_TO_A';
  return names;
}

function missing(variable: string, meaning: string): never {
  throw EnvVarError.missing(variable, meaning);
}
