export {
  OpenAiRealtimeStage,
  OpenAiRealtimeStageOptionsSchema,
  openAiRealtimeStageFactory,
  type OpenAiRealtimeStageOptions,
  type OpenAiRealtimeStageEvents,
  type OpenAiRealtimeStageStats,
} from './realtime-stage.js';
export {
  OpenAiRealtimeLocalServer,
  type OpenAiRealtimeLocalServerOptions,
  type LocalSessionRecord,
  type LocalUtterance,
} from './local-server.js';
export {
  REALTIME_SAMPLE_RATE,
  OPENAI_REALTIME_URL,
  MIN_COMMIT_MS,
  SessionConfigSchema,
  ClientEventSchema,
  encodeClientEvent,
  tryParseServerEvent,
  tryParseClientEvent,
  decodeBase64Audio,
  type SessionConfig,
  type ClientEvent,
  type ClientEventInput,
  type ServerEvent,
  type ServerEventType,
  type IgnoredServerEvent,
} from './protocol.js';
