import { z } from 'zod';
import { EnvVarError } from '../../../common/src/env-error.js';

/**
 * The environment of the Azure cascade parts (docs/providers.md): one Speech
 * resource (key + region) serves the recognizer and the synthesizer, a
 * Translator resource the translator. `chosenBy` names the setting that asked
 * for the part (`TANDEM_CASCADE_A_TO_B_RECOGNIZER=azure`), for the message
 * when a key or region is missing.
 */
export const AZURE_ENV_SHAPE = {
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
};

export const AZURE_KEY_VARIABLES: readonly string[] = ['AZURE_SPEECH_KEY', 'AZURE_SPEECH_KEY_FILE', 'AZURE_TRANSLATOR_KEY', 'AZURE_TRANSLATOR_KEY_FILE'];

type AzureEnv = z.output<z.ZodObject<typeof AZURE_ENV_SHAPE>>;
/** Reads a key or the file its `_FILE` variable names (translation-settings' secret()). */
type SecretReader = (value: string | undefined, file: string | undefined, variable: string, meaning: string) => string;

function speechResource(e: AzureEnv, secret: SecretReader, chosenBy: string): { key: string; region: string } {
  const key = secret(e.AZURE_SPEECH_KEY, e.AZURE_SPEECH_KEY_FILE, 'AZURE_SPEECH_KEY', `the Azure Speech resource key, needed for ${chosenBy}`);
  const region = e.TANDEM_AZURE_SPEECH_REGION;
  if (region === undefined) throw EnvVarError.missing('TANDEM_AZURE_SPEECH_REGION', `the Azure Speech resource's region (e.g. westeurope), needed for ${chosenBy}`);
  return { key, region };
}

export function azureRecognizerFromEnv(e: AzureEnv, secret: SecretReader, chosenBy: string): object {
  return { kind: 'azure', ...speechResource(e, secret, chosenBy), ...(e.TANDEM_AZURE_STT_URL ? { url: e.TANDEM_AZURE_STT_URL } : {}) };
}

export function azureTranslatorFromEnv(e: AzureEnv, secret: SecretReader, chosenBy: string): object {
  return {
    kind: 'azure',
    key: secret(e.AZURE_TRANSLATOR_KEY, e.AZURE_TRANSLATOR_KEY_FILE, 'AZURE_TRANSLATOR_KEY', `the Azure Translator resource key, needed for ${chosenBy}`),
    ...(e.TANDEM_AZURE_TRANSLATOR_REGION ? { region: e.TANDEM_AZURE_TRANSLATOR_REGION } : {}),
    ...(e.TANDEM_AZURE_TRANSLATOR_URL ? { url: e.TANDEM_AZURE_TRANSLATOR_URL } : {}),
  };
}

export function azureSynthesizerFromEnv(e: AzureEnv, secret: SecretReader, chosenBy: string): object {
  const voices: Record<string, string> = {};
  for (const item of (e.TANDEM_AZURE_TTS_VOICES ?? '').split(',')) {
    if (item.trim() === '') continue;
    const [language, voice, extra] = item.split('=').map((x) => x.trim());
    if (!language || !voice || extra !== undefined) throw EnvVarError.invalid('TANDEM_AZURE_TTS_VOICES', e.TANDEM_AZURE_TTS_VOICES ?? '', 'must be language=voice pairs separated by commas, e.g. es-MX=es-MX-JorgeNeural');
    voices[language] = voice;
  }
  return { kind: 'azure', ...speechResource(e, secret, chosenBy), voices, ...(e.TANDEM_AZURE_TTS_URL ? { url: e.TANDEM_AZURE_TTS_URL } : {}) };
}

/** Per part, the settings fields of an Azure part and the variables they come from. */
export const AZURE_PART_VARIABLES = {
  recognizer: { url: 'TANDEM_AZURE_STT_URL', key: 'AZURE_SPEECH_KEY', region: 'TANDEM_AZURE_SPEECH_REGION' },
  translator: { url: 'TANDEM_AZURE_TRANSLATOR_URL', key: 'AZURE_TRANSLATOR_KEY', region: 'TANDEM_AZURE_TRANSLATOR_REGION' },
  synthesizer: { url: 'TANDEM_AZURE_TTS_URL', key: 'AZURE_SPEECH_KEY', region: 'TANDEM_AZURE_SPEECH_REGION', voices: 'TANDEM_AZURE_TTS_VOICES' },
} as const;
