export type { Direction, FrameStatus, MediaFrame, PipelineStage, StageContext, StageFactory } from './stage.js';
export { IdentityStage, identityStageFactory } from './identity-stage.js';
export * from './streaming/index.js';
export * from './recording/index.js';
export * from './providers/index.js';
export type { TranscriptEvent } from './transcript-event.js';
export { PairTranslationSchema, parsePairTranslation, type PairTranslation, type PairTranslationInput } from './translation/config.js';
export type { DirectionEvent } from './translation/translating-stage.js';
export * from './providers/openai-realtime/index.js';
