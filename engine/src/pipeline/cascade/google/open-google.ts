/**
 * The Google parts of a cascade direction from their settings (called by
 * openCascade): each adapter leases the worker's shared gRPC channel for its
 * endpoint, so many directions cost one HTTP/2 connection per service.
 */
import type { StageContext } from '../../stage.js';
import type { CascadeProvider, RecognizerConfig, SynthesizerConfig, TranslatorConfig } from '../../translation/config.js';
import type { BackoffSettings } from '../../providers/backoff.js';
import { GoogleRecognizer } from './recognizer.js';
import { GoogleSynthesizer } from './synthesizer.js';
import { GoogleTranslator } from './translator.js';

type Google<T> = Extract<T, { kind: 'google' }>;

export function googleRecognizer(
  config: Google<RecognizerConfig>,
  request: { context: StageContext; languages: { source: string }; legRate: 8000 | 16000 },
  connection: BackoffSettings & { connectTimeoutMs: number },
): GoogleRecognizer {
  return new GoogleRecognizer(request.context, request.languages.source, request.legRate, {
    endpoint: config.endpoint,
    tls: config.tls,
    apiKey: config.apiKey,
    model: config.model,
    enableAutomaticPunctuation: config.enableAutomaticPunctuation,
    streamLimitMs: config.streamLimitMs,
    finalizeTimeoutMs: config.finalizeTimeoutMs,
    connectTimeoutMs: connection.connectTimeoutMs,
    reconnectInitialDelayMs: connection.reconnectInitialDelayMs,
    reconnectMaxDelayMs: connection.reconnectMaxDelayMs,
    reconnectMaxAttempts: connection.reconnectMaxAttempts,
    // 50 frames is a second of audio: beyond it the transport is not keeping up and late audio is worse than none.
    maxBufferedFrames: 50,
  });
}

export function googleTranslator(config: Google<TranslatorConfig>, provider: CascadeProvider): GoogleTranslator {
  return new GoogleTranslator({
    endpoint: config.endpoint,
    tls: config.tls,
    apiKey: config.apiKey,
    projectId: config.projectId,
    location: config.location,
    model: config.model,
    glossaryId: config.glossaryId,
    timeoutMs: provider.translateTimeoutMs,
    maxRetries: 1,
  });
}

export function googleSynthesizer(config: Google<SynthesizerConfig>, request: { provider: CascadeProvider; legRate: 8000 | 16000 }): GoogleSynthesizer {
  return new GoogleSynthesizer(request.legRate, {
    endpoint: config.endpoint,
    tls: config.tls,
    apiKey: config.apiKey,
    voices: config.voices,
    speakingRate: config.speakingRate,
    timeoutMs: request.provider.synthesisTimeoutMs,
    maxRetries: 1,
  });
}
