import { z } from 'zod';
import { EnvVarError, asEnvVarError, envIssueError } from '../../../common/src/env-error.js';
import { ConfigError } from '../../../common/src/errors.js';
import { parsePairTranslation, type PairTranslation } from '../../../engine/src/index.js';
import { CASCADE_ENV_SHAPE, CASCADE_KEY_VARIABLES, cascadeFromEnv, cascadeVariableNames } from './cascade-env.js';

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
  /** Liveness check of a Tandem-protocol service that supports it (docs/media-streaming-protocol.md §6). */
  TANDEM_TRANSLATE_LIVENESS_INTERVAL_MS: z.coerce.number().int().optional(),
  TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS: z.coerce.number().int().optional(),
  /** API key of an OpenAI-Realtime-compatible service. */
  OPENAI_API_KEY: z.string().min(1).optional(),
  TANDEM_TRANSLATE_MODEL: z.string().min(1).optional(),
  TANDEM_LANG_A: z.string().min(2).default('en'),
  TANDEM_LANG_B: z.string().min(2).default('es'),
  TANDEM_TRANSLATE_MODE: z.enum(['translated-only', 'duck']).default('translated-only'),
  // ---- cascade (docs/cascade.md): its parts, per direction, fallback, early translation, and each provider's keys ----
  ...CASCADE_ENV_SHAPE,
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
  if (e.TANDEM_TRANSLATE_PROVIDER === 'cascade') return withEnvNames(present, () => parsePairTranslation({ ...common(e), provider: cascadeFromEnv(e) }), { ...VARIABLE_OF_KEY, ...cascadeVariableNames(e) });
  if (e.TANDEM_TRANSLATE_URL === undefined) throw EnvVarError.missing('TANDEM_TRANSLATE_URL', 'the ws:// or wss:// URL of the translation service, needed when TANDEM_TRANSLATE_PROVIDER is set');
  const provider =
    e.TANDEM_TRANSLATE_PROVIDER === 'tandem'
      ? {
          kind: 'tandem' as const,
          url: e.TANDEM_TRANSLATE_URL,
          ...(e.TANDEM_TRANSLATE_TOKEN ? { token: e.TANDEM_TRANSLATE_TOKEN } : {}),
          ...(e.TANDEM_TRANSLATE_LIVENESS_INTERVAL_MS !== undefined ? { livenessIntervalMs: e.TANDEM_TRANSLATE_LIVENESS_INTERVAL_MS } : {}),
          ...(e.TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS !== undefined ? { livenessTimeoutMs: e.TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS } : {}),
        }
      : {
          kind: 'openai-realtime' as const,
          url: e.TANDEM_TRANSLATE_URL,
          apiKey: e.OPENAI_API_KEY ?? missing('OPENAI_API_KEY', 'the API key of the OpenAI-Realtime-compatible service, needed for TANDEM_TRANSLATE_PROVIDER=openai-realtime'),
          ...(e.TANDEM_TRANSLATE_MODEL ? { model: e.TANDEM_TRANSLATE_MODEL } : {}),
        };
  return withEnvNames(present, () => parsePairTranslation({ ...common(e), provider }));
}

type Env = z.output<typeof envSchema>;

const KEY_VARIABLES = new Set(['OPENAI_API_KEY', ...CASCADE_KEY_VARIABLES]);

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

/** The settings keys parsePairTranslation reports, and the variables they come from. */
const VARIABLE_OF_KEY: Readonly<Record<string, string>> = {
  'provider.url': 'TANDEM_TRANSLATE_URL',
  'provider.token': 'TANDEM_TRANSLATE_TOKEN',
  'provider.livenessIntervalMs': 'TANDEM_TRANSLATE_LIVENESS_INTERVAL_MS',
  'provider.livenessTimeoutMs': 'TANDEM_TRANSLATE_LIVENESS_TIMEOUT_MS',
  'provider.apiKey': 'OPENAI_API_KEY',
  'provider.model': 'TANDEM_TRANSLATE_MODEL',
  'languages.A': 'TANDEM_LANG_A',
  'languages.B': 'TANDEM_LANG_B',
  mode: 'TANDEM_TRANSLATE_MODE',
  between: 'TANDEM_TRANSLATE_BETWEEN',
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
