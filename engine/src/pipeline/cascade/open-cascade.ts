/**
 * Builds one direction's CascadeStage from the pair's `cascade` provider
 * settings: the direction's recognizer, translator and synthesizer (the
 * shared parts, byDirection overrides applied), each adapter given the leg's
 * rate so audio crosses the wire in the leg's codec where the service allows.
 */
import { logger } from '../../../../common/src/logger.js';
import { EspeakSynthesizer } from '../providers/espeak-synthesizer.js';
import type { StageContext } from '../stage.js';
import type { CascadeProvider, RecognizerConfig, SynthesizerConfig, TranslatorConfig } from '../translation/config.js';
import type { SpeechHooks, SpeechStage } from '../translation/speech-stage.js';
import { ApertiumService } from './apertium-translator.js';
import { azureRecognizer, azureSynthesizer, azureTranslator } from './azure-parts.js';
import { CascadeStage } from './cascade-stage.js';
import { DeepgramRecognizer } from './deepgram-recognizer.js';
import { DeeplTranslator } from './deepl-translator.js';
import { ElevenLabsSynthesizer } from './elevenlabs-synthesizer.js';
import { googleRecognizer, googleSynthesizer, googleTranslator } from './google/open-google.js';
import { acquireShared } from './shared.js';
import type { CascadeRecognizer, CascadeSynthesizer, CascadeTranslator } from './types.js';

export interface CascadeRequest {
  provider: CascadeProvider;
  context: StageContext;
  languages: { source: string; target: string };
  mode: 'translated-only' | 'duck';
  duckGain: number;
  legRate: 8000 | 16000;
}

const CONNECTION = { connectTimeoutMs: 5000, reconnectInitialDelayMs: 250, reconnectMaxDelayMs: 5000, reconnectMaxAttempts: 20, pingIntervalMs: 15_000, maxMessageBytes: 4 << 20 };

function recognizer(config: RecognizerConfig, request: CascadeRequest): CascadeRecognizer {
  switch (config.kind) {
    case 'deepgram':
      return new DeepgramRecognizer(request.context, request.languages.source, request.legRate, {
        ...CONNECTION,
        url: config.url,
        apiKey: config.apiKey,
        model: config.model,
        endpointingMs: config.endpointingMs,
        utteranceEndMs: config.utteranceEndMs,
        keepAliveMs: config.keepAliveMs,
        maxBufferedBytes: 64 * 1024,
      });
    case 'azure':
      return azureRecognizer(config, request.context, request.languages.source, request.legRate, CONNECTION);
    case 'google':
      return googleRecognizer(config, request, CONNECTION);
  }
}

function translator(config: TranslatorConfig, provider: CascadeProvider): CascadeTranslator {
  switch (config.kind) {
    case 'apertium': {
      const lease = acquireShared(
        `apertium ${JSON.stringify(config)}`,
        () => new ApertiumService({ modesDir: config.modesDir, requestTimeoutMs: config.requestTimeoutMs, maxInFlight: 64, languageCodes: config.languageCodes }),
        (service) => service.close(),
      );
      return { name: 'apertium', translate: (text, req) => lease.value.translate(text, req), release: () => lease.release() };
    }
    case 'deepl': {
      // The key is part of the sharing key only as a hash-free equality inside this worker's memory; it is never logged.
      const lease = acquireShared(
        `deepl ${JSON.stringify(config)}`,
        () =>
          new DeeplTranslator({
            serverUrl: config.serverUrl,
            authKey: config.authKey,
            formality: config.formality,
            glossaryId: config.glossaryId,
            timeoutMs: provider.translateTimeoutMs,
            maxRetries: 1,
          }),
        () => undefined,
      );
      return { name: 'deepl', translate: (text, req) => lease.value.translate(text, req), release: () => lease.release() };
    }
    case 'azure':
      return azureTranslator(config);
    case 'google':
      return googleTranslator(config, provider);
  }
}

function synthesizer(config: SynthesizerConfig, request: CascadeRequest): CascadeSynthesizer {
  switch (config.kind) {
    case 'espeak-ng': {
      const lease = acquireShared(
        `espeak ${JSON.stringify(config)}`,
        () => new EspeakSynthesizer({ wordsPerMinute: config.wordsPerMinute, voices: config.voices, timeoutMs: request.provider.synthesisTimeoutMs }),
        (espeak) => void espeak.close(),
      );
      let closed = false;
      return {
        name: 'espeak-ng',
        sampleRate: request.legRate,
        speak: async (text, req) => {
          const pcm = await lease.value.synthesize(text, { language: req.language, sampleRate: request.legRate, signal: req.signal });
          req.onAudio(pcm);
        },
        close: () => {
          if (closed) return;
          closed = true;
          lease.release();
        },
      };
    }
    case 'elevenlabs':
      return new ElevenLabsSynthesizer(request.legRate, {
        url: config.url,
        apiKey: config.apiKey,
        voiceId: config.voiceId,
        modelId: config.modelId,
        stability: config.stability,
        similarityBoost: config.similarityBoost,
        connectTimeoutMs: CONNECTION.connectTimeoutMs,
        maxMessageBytes: CONNECTION.maxMessageBytes,
      });
    case 'azure':
      return azureSynthesizer(config, request.legRate);
    case 'google':
      return googleSynthesizer(config, request);
  }
}

export function openCascade(request: CascadeRequest, hooks: SpeechHooks): SpeechStage {
  const p = request.provider;
  const over = p.byDirection[request.context.direction] ?? {};
  return new CascadeStage({
    context: request.context,
    hooks,
    log: logger('pipeline.cascade', { pairId: request.context.pairId, direction: request.context.direction }),
    languages: request.languages,
    recognizer: recognizer(over.recognizer ?? p.recognizer, request),
    translator: translator(over.translator ?? p.translator, p),
    synthesizer: synthesizer(over.synthesizer ?? p.synthesizer, request),
    mode: request.mode,
    duckGain: request.duckGain,
    legRate: request.legRate,
    translateTimeoutMs: p.translateTimeoutMs,
    synthesisTimeoutMs: p.synthesisTimeoutMs,
    maxPendingUtterances: p.maxPendingUtterances,
    maxQueueSeconds: p.maxQueueSeconds,
  });
}
