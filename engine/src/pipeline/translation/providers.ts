import { openCascade } from '../cascade/open-cascade.js';
import type { StageContext } from '../stage.js';
import { OpenAiRealtimeStage } from '../providers/openai-realtime/realtime-stage.js';
import type { TranscriptMessage, TranslationMessage } from '../streaming/protocol.js';
import { StreamingStage, type DisconnectInfo, type StreamingError } from '../streaming/stream-stage.js';
import type { PairTranslation, TranslationProvider } from './config.js';
import type { SpeechHooks, SpeechStage, SpeechStageOpener } from './speech-stage.js';

export interface SpeechStageRequest {
  provider: TranslationProvider;
  context: StageContext;
  languages: { source: string; target: string };
  mode: PairTranslation['mode'];
  duckGain: number;
  /** The leg's rate (its codec's): what a cascade asks its services for. */
  legRate: 8000 | 16000;
}

/** The events both provider stages emit, with the same payloads. */
interface ProviderStageEvents {
  transcript: [message: TranscriptMessage];
  translation: [message: TranslationMessage];
  mark: [name: string];
  audio: [samples: number];
  error: [error: StreamingError];
  connected: [];
  disconnected: [info: DisconnectInfo];
}

interface ProviderStage extends SpeechStage {
  on<K extends keyof ProviderStageEvents>(event: K, listener: (...args: ProviderStageEvents[K]) => void): unknown;
}

/** Routes a provider stage's events to the pipeline's hooks. */
function wire<S extends ProviderStage>(stage: S, hooks: SpeechHooks): S {
  stage.on('transcript', hooks.transcript);
  stage.on('translation', hooks.translation);
  stage.on('mark', hooks.mark);
  stage.on('audio', hooks.audio);
  stage.on('error', (error) => hooks.error(error.code, error.message));
  stage.on('connected', () => hooks.connection('connected', ''));
  stage.on('disconnected', (info) => hooks.connection('disconnected', `${info.code} ${info.reason}${info.willReconnect ? ' (reconnecting)' : ''}`));
  return stage;
}

/** Tandem's own protocol (docs/media-streaming-protocol.md). */
function openTandem(request: SpeechStageRequest, hooks: SpeechHooks): SpeechStage {
  const { provider, context, languages } = request;
  if (provider.kind !== 'tandem') throw new TypeError(`not a tandem provider: ${provider.kind}`);
  const stage = new StreamingStage(context, {
    url: provider.url,
    ...(provider.token !== undefined ? { token: provider.token } : {}),
    sourceLanguage: languages.source,
    targetLanguage: languages.target,
    sampleRate: provider.sampleRate,
    ...(provider.livenessIntervalMs !== undefined ? { livenessIntervalMs: provider.livenessIntervalMs } : {}),
    ...(provider.livenessTimeoutMs !== undefined ? { livenessTimeoutMs: provider.livenessTimeoutMs } : {}),
    mode: request.mode,
    duckGain: request.duckGain,
  });
  return wire(stage, hooks);
}

/** An OpenAI-Realtime-compatible speech-to-speech session (docs/openai-realtime-provider.md). */
function openOpenAi(request: SpeechStageRequest, hooks: SpeechHooks): SpeechStage {
  const { provider, context, languages } = request;
  if (provider.kind !== 'openai-realtime') throw new TypeError(`not an openai-realtime provider: ${provider.kind}`);
  const stage = new OpenAiRealtimeStage(context, {
    url: provider.url,
    apiKey: provider.apiKey,
    ...(provider.model !== undefined ? { model: provider.model } : {}),
    ...(provider.voice !== undefined ? { voice: provider.voice } : {}),
    turnDetection: provider.turnDetection,
    sourceLanguage: languages.source,
    targetLanguage: languages.target,
    mode: request.mode,
    duckGain: request.duckGain,
  });
  return wire(stage, hooks);
}

/** The stage opener for one direction, by provider kind. */
export function speechStageOpener(request: SpeechStageRequest): SpeechStageOpener {
  switch (request.provider.kind) {
    case 'tandem':
      return (hooks) => openTandem(request, hooks);
    case 'openai-realtime':
      return (hooks) => openOpenAi(request, hooks);
    case 'cascade': {
      const provider = request.provider;
      return (hooks) => openCascade({ ...request, provider }, hooks);
    }
  }
}
