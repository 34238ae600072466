/**
 * The Azure parts of a cascade built from their settings (open-cascade.ts
 * picks them by `kind: "azure"`): the endpoints a region implies, and each
 * adapter with the retry policy and bounds Tandem runs it with.
 */
import type { WsConnectionSettings } from '../providers/ws-connection.js';
import type { StageContext } from '../stage.js';
import type { RecognizerConfig, SynthesizerConfig, TranslatorConfig } from '../translation/config.js';
import { AzureSpeechRecognizer } from './azure-speech-recognizer.js';
import { AzureTranslator } from './azure-translator.js';
import { AzureTtsSynthesizer } from './azure-tts-synthesizer.js';
import type { RetryPolicy } from './http-retry.js';
import { acquireShared } from './shared.js';
import type { CascadeTranslator } from './types.js';

type AzureRecognizerConfig = Extract<RecognizerConfig, { kind: 'azure' }>;
type AzureTranslatorConfig = Extract<TranslatorConfig, { kind: 'azure' }>;
type AzureSynthesizerConfig = Extract<SynthesizerConfig, { kind: 'azure' }>;

export const azureSttUrl = (c: AzureRecognizerConfig): string => c.url ?? `wss://${c.region}.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1`;
export const azureTtsUrl = (c: AzureSynthesizerConfig): string => c.url ?? `https://${c.region}.tts.speech.microsoft.com`;

/** Two retries of 429/5xx inside the part's deadline; a Retry-After longer than 5 s fails the utterance instead of holding it. */
export const AZURE_RETRY: RetryPolicy = { maxRetries: 2, initialDelayMs: 200, maxDelayMs: 5000 };

export function azureRecognizer(config: AzureRecognizerConfig, context: StageContext, language: string, legRate: 8000 | 16000, connection: WsConnectionSettings): AzureSpeechRecognizer {
  return new AzureSpeechRecognizer(context, language, legRate, {
    ...connection,
    url: azureSttUrl(config),
    key: config.key,
    segmentationSilenceMs: config.segmentationSilenceMs,
    maxPendingMs: config.maxPendingMs,
    turnEndTimeoutMs: config.turnEndTimeoutMs,
    maxBufferedBytes: 64 * 1024,
  });
}

/** Shared by every direction configured alike (it holds no per-call state). */
export function azureTranslator(config: AzureTranslatorConfig): CascadeTranslator {
  // The key is part of the sharing key only as an equality inside this worker's memory; it is never logged.
  const lease = acquireShared(
    `azure-translator ${JSON.stringify(config)}`,
    () => new AzureTranslator({ url: config.url, key: config.key, region: config.region, category: config.category, retry: AZURE_RETRY }),
    () => undefined,
  );
  return { name: 'azure-translator', translate: (text, req) => lease.value.translate(text, req), release: () => lease.release() };
}

export function azureSynthesizer(config: AzureSynthesizerConfig, legRate: 8000 | 16000): AzureTtsSynthesizer {
  return new AzureTtsSynthesizer(legRate, { url: azureTtsUrl(config), key: config.key, voices: config.voices, retry: AZURE_RETRY });
}
