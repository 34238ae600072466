import { z } from 'zod';
import { EnvVarError } from '../../../common/src/env-error.js';

/**
 * The environment of the Google Cloud cascade parts (docs/cascade.md):
 * `TANDEM_CASCADE_RECOGNIZER|TRANSLATOR|SYNTHESIZER=google` choose them, one
 * API key (`GOOGLE_API_KEY` or the file `GOOGLE_API_KEY_FILE` names) serves
 * the three, and without a key Application Default Credentials are used
 * (`GOOGLE_APPLICATION_CREDENTIALS`, read by google-auth-library itself, never
 * by Tandem). Endpoints and `TANDEM_GOOGLE_TLS=false` exist for local doubles.
 */
export const GOOGLE_ENV_SHAPE = {
  GOOGLE_API_KEY: z.string().min(1).optional(),
  GOOGLE_API_KEY_FILE: z.string().min(1).optional(),
  /** Translation v3 needs a project: `projects/<id>/locations/<location>`. */
  TANDEM_GOOGLE_PROJECT: z.string().min(1).optional(),
  TANDEM_GOOGLE_LOCATION: z.string().min(1).optional(),
  TANDEM_GOOGLE_SPEECH_ENDPOINT: z.string().min(1).optional(),
  TANDEM_GOOGLE_TRANSLATE_ENDPOINT: z.string().min(1).optional(),
  TANDEM_GOOGLE_TTS_ENDPOINT: z.string().min(1).optional(),
  TANDEM_GOOGLE_TLS: z.enum(['true', 'false']).optional(),
  TANDEM_GOOGLE_SPEECH_MODEL: z.string().min(1).optional(),
  /** `es-US=es-US-Neural2-A,en=en-US-Standard-C`: language → voice name. */
  TANDEM_GOOGLE_TTS_VOICES: z.string().min(1).optional(),
};

export const GOOGLE_KEY_VARIABLES: readonly string[] = ['GOOGLE_API_KEY', 'GOOGLE_API_KEY_FILE'];

type GoogleEnv = z.output<z.ZodObject<typeof GOOGLE_ENV_SHAPE>>;
/** Reads GOOGLE_API_KEY or its _FILE (translation-settings' secret()); undefined when neither is set. */
type SecretReader = (value: string | undefined, file: string | undefined, variable: string, meaning: string) => string;

function access(e: GoogleEnv, endpoint: string | undefined, secret: SecretReader): object {
  const key = e.GOOGLE_API_KEY !== undefined || e.GOOGLE_API_KEY_FILE !== undefined ? secret(e.GOOGLE_API_KEY, e.GOOGLE_API_KEY_FILE, 'GOOGLE_API_KEY', 'a Google Cloud API key') : undefined;
  return {
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(e.TANDEM_GOOGLE_TLS !== undefined ? { tls: e.TANDEM_GOOGLE_TLS === 'true' } : {}),
    ...(key !== undefined ? { apiKey: key } : {}),
  };
}

export function googleRecognizerFromEnv(e: GoogleEnv, secret: SecretReader): object {
  return { kind: 'google', ...access(e, e.TANDEM_GOOGLE_SPEECH_ENDPOINT, secret), ...(e.TANDEM_GOOGLE_SPEECH_MODEL ? { model: e.TANDEM_GOOGLE_SPEECH_MODEL } : {}) };
}

export function googleTranslatorFromEnv(e: GoogleEnv, secret: SecretReader): object {
  if (e.TANDEM_GOOGLE_PROJECT === undefined) throw EnvVarError.missing('TANDEM_GOOGLE_PROJECT', 'the Google Cloud project Translation v3 runs in, needed for TANDEM_CASCADE_TRANSLATOR=google');
  return {
    kind: 'google',
    ...access(e, e.TANDEM_GOOGLE_TRANSLATE_ENDPOINT, secret),
    projectId: e.TANDEM_GOOGLE_PROJECT,
    ...(e.TANDEM_GOOGLE_LOCATION ? { location: e.TANDEM_GOOGLE_LOCATION } : {}),
  };
}

export function googleSynthesizerFromEnv(e: GoogleEnv, secret: SecretReader): object {
  const voices: Record<string, string> = {};
  for (const entry of (e.TANDEM_GOOGLE_TTS_VOICES ?? '').split(',').filter((x) => x.trim() !== '')) {
    const m = /^\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)\s*=\s*([A-Za-z0-9-]+)\s*$/.exec(entry);
    if (m === null) throw EnvVarError.invalid('TANDEM_GOOGLE_TTS_VOICES', e.TANDEM_GOOGLE_TTS_VOICES ?? '', `"${entry.slice(0, 40)}" is not language=voice`);
    voices[m[1]!] = m[2]!;
  }
  return { kind: 'google', ...access(e, e.TANDEM_GOOGLE_TTS_ENDPOINT, secret), voices };
}

/** The settings keys of the Google parts chosen, and the variables they come from. */
export function googleVariableOfKey(chosen: { recognizer: boolean; translator: boolean; synthesizer: boolean }): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = [
    ['recognizer', 'TANDEM_GOOGLE_SPEECH_ENDPOINT'],
    ['translator', 'TANDEM_GOOGLE_TRANSLATE_ENDPOINT'],
    ['synthesizer', 'TANDEM_GOOGLE_TTS_ENDPOINT'],
  ] as const;
  for (const [part, endpoint] of parts) {
    if (!chosen[part]) continue;
    out[`provider.${part}.endpoint`] = endpoint;
    out[`provider.${part}.apiKey`] = 'GOOGLE_API_KEY';
    out[`provider.${part}.tls`] = 'TANDEM_GOOGLE_TLS';
  }
  if (chosen.recognizer) out['provider.recognizer.model'] = 'TANDEM_GOOGLE_SPEECH_MODEL';
  if (chosen.translator) {
    out['provider.translator.projectId'] = 'TANDEM_GOOGLE_PROJECT';
    out['provider.translator.location'] = 'TANDEM_GOOGLE_LOCATION';
  }
  if (chosen.synthesizer) out['provider.synthesizer.voices'] = 'TANDEM_GOOGLE_TTS_VOICES';
  return out;
}
